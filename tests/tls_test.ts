// libpq's sslmode semantics over the postgres.js adapter, against throwaway clusters with certificates
// made by openssl at test time. Every outcome is read on the server side (pg_stat_ssl, through psql
// over the unix socket), and every case that libpq can express is also run through psql (libpq 15)
// with the same parameters: our outcome must equal libpq's.
import assert from "node:assert/strict";
import { createDriver, type TlsEvent } from "../adapters/postgres.ts";
import type { SslMode } from "../src/config/types.ts";
import { DatabaseConnection } from "../mod.ts";
import { DatabaseConnectionError, QueryCancelledError, QueryError } from "../src/errors.ts";
import type { Logger } from "../src/logger.ts";
import { type Certs, makeCerts } from "./helpers/certs.ts";
import { type Cluster, startCluster } from "./helpers/cluster.ts";

type Outcome = "encrypted" | "plain" | "fails";

/** Client settings; the keys are libpq's, so the same object drives psql. */
type Client = {
  sslmode: SslMode;
  host?: string;
  sslrootcert?: string;
  sslcert?: string;
  sslkey?: string;
  sslpassword?: string;
};

interface Case {
  client: Client;
  expect: Outcome;
  /** `DatabaseConnectionError.code` (or `QueryError.code`) when it fails. */
  code?: string;
  /** What the message must say when it fails. */
  message?: RegExp;
}

const LOCAL_TRUST = "local all all trust"; // psql's side door for server-side checks, whatever the TCP lines say
const HBA = {
  any: [LOCAL_TRUST, "host all all 127.0.0.1/32 trust"],
  hostsslOnly: [LOCAL_TRUST, "hostssl all all 127.0.0.1/32 trust"],
  hostnosslOnly: [LOCAL_TRUST, "hostnossl all all 127.0.0.1/32 trust"],
  clientCert: [LOCAL_TRUST, "hostssl all all 127.0.0.1/32 cert"],
  clientCertOrPlain: [LOCAL_TRUST, "hostssl all all 127.0.0.1/32 cert", "hostnossl all all 127.0.0.1/32 trust"],
};

/** Everything a test run shares: certificates, an ssl=on cluster whose hba/certs tests swap, an ssl=off one. */
interface Fixture {
  certs: Certs;
  on: Cluster;
  off: Cluster;
  logs: string[];
}

let fixture: Promise<Fixture> | undefined;
function shared(): Promise<Fixture> {
  return fixture ??= (async () => {
    const certs = await makeCerts();
    const [on, off] = await Promise.all([
      startCluster({ hba: HBA.any, settings: sslSettings(certs, "server") }),
      startCluster({ hba: HBA.any }),
    ]);
    return { certs, on, off, logs: [] };
  })();
}

function sslSettings(certs: Certs, server: "server" | "serverOther" | "serverFromOtherCa") {
  return {
    ssl: true,
    ssl_cert_file: certs[server].certPath,
    ssl_key_file: certs[server].keyPath,
    // Clients certificates are checked against our CA (hostssl ... cert).
    ssl_ca_file: certs.ca.certPath,
  };
}

let generation = 0;
/** Swaps pg_hba.conf and/or the server certificate, and waits until new backends see the change. */
async function serve(pg: Cluster, changes: { hba?: string[]; settings?: Record<string, string | boolean> }) {
  const mark = String(++generation);
  await pg.configure({ hba: changes.hba, settings: { ...changes.settings, "dewey.generation": mark } });
  await pg.reload();
  // The postmaster reloads hba, postgresql.conf and the TLS context in one SIGHUP: once a new backend
  // sees the mark, the rest is in place too.
  for (let i = 0; (await pg.psql("SHOW dewey.generation", { host: pg.socketDir })) !== mark; i++) {
    if (i > 500) throw new Error("the server did not reload");
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Server-side view of backend `pid`: TLS or not, and the client certificate's DN. */
async function serverSsl(pg: Cluster, pid: number): Promise<{ ssl: boolean; version: string; clientDn: string }> {
  const out = await pg.psql(
    `SELECT ssl, coalesce(version, ''), coalesce(client_dn, '') FROM pg_stat_ssl WHERE pid = ${pid}`,
    { host: pg.socketDir },
  );
  const [ssl, version, clientDn] = out.split("|");
  return { ssl: ssl === "t", version, clientDn };
}

function capture(logs: string[]): Logger {
  const sink = (level: string) => (message: string, fields?: Record<string, unknown>) =>
    logs.push(`${level} ${message} ${JSON.stringify(fields ?? {})}`);
  return { debug: sink("debug"), info: sink("info"), warn: sink("warn"), error: sink("error") };
}

function open(f: Fixture, pg: Cluster, client: Client | Record<string, unknown>): DatabaseConnection {
  return new DatabaseConnection({
    postgres: {
      host: "127.0.0.1",
      port: pg.port,
      user: "postgres",
      dbname: "postgres",
      health_check_interval: 0,
      connect_timeout: "5s",
      ...client,
    },
  }, { driver: createDriver, logger: capture(f.logs), logLevel: "debug" });
}

/** Our outcome, checked on the server side; the error when it fails. */
async function ours(f: Fixture, pg: Cluster, client: Client): Promise<{ outcome: Outcome; error?: Error }> {
  await using db = open(f, pg, client);
  try {
    await db.validateConnection();
  } catch (error) {
    return { outcome: "fails", error: error as Error };
  }
  const { rows: [{ pid }] } = await db.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
  const server = await serverSsl(pg, pid);
  // What health() reports must be what the server sees.
  const { tls } = await db.health();
  assert.equal(tls?.enabled, server.ssl, "health().tls.enabled disagrees with pg_stat_ssl");
  if (server.ssl) assert.equal(tls?.protocol, server.version);
  return { outcome: server.ssl ? "encrypted" : "plain" };
}

/** libpq's outcome (psql 15), with the same parameters. */
async function libpq(pg: Cluster, client: Client): Promise<Outcome> {
  try {
    const out = await pg.psql("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()", {
      host: "127.0.0.1",
      connect_timeout: 5,
      ...client,
    });
    return out === "t" ? "encrypted" : "plain";
  } catch {
    return "fails";
  }
}

/** The case in words; never a key, a password or PEM text. */
function label(c: Case): string {
  const { sslmode, ...rest } = c.client;
  const shown = (k: string, v: string) =>
    k === "sslpassword" ? "***" : v.includes("-----BEGIN") ? "(PEM)" : v.replace(/^.*\//, "");
  const extra = Object.entries(rest).map(([k, v]) => `${k}=${shown(k, String(v))}`).join(" ");
  return `sslmode=${sslmode}${extra ? ` ${extra}` : ""} → ${c.expect}${c.code ? ` (${c.code})` : ""}`;
}

/** Runs each case through our adapter and through libpq; both must give the expected outcome. */
async function table(t: Deno.TestContext, pg: Cluster, cases: Case[], compareWithLibpq = true) {
  const f = await shared();
  for (const c of cases) {
    await t.step(label(c), async () => {
      const [mine, theirs] = await Promise.all([
        ours(f, pg, c.client),
        compareWithLibpq ? libpq(pg, c.client) : Promise.resolve(c.expect),
      ]);
      assert.equal(theirs, c.expect, "libpq disagrees with the expected outcome");
      assert.equal(mine.outcome, c.expect, mine.error ? `failed: ${mine.error.message}` : undefined);
      if (c.expect === "fails") {
        const e = mine.error as DatabaseConnectionError | QueryError;
        assert.ok(e instanceof DatabaseConnectionError || e instanceof QueryError, String(e));
        if (c.code) assert.equal(e.code, c.code, e.message);
        if (c.message) assert.match(e.message, c.message);
      }
    });
  }
}

Deno.test("sslmode × ssl=on / ssl=off server: encrypted, plain or fails, as libpq", async (t) => {
  const f = await shared();
  const ca = f.certs.ca.certPath;
  await table(t, f.on, [
    { client: { sslmode: "disable" }, expect: "plain" },
    { client: { sslmode: "allow" }, expect: "plain" },
    { client: { sslmode: "prefer" }, expect: "encrypted" },
    { client: { sslmode: "require" }, expect: "encrypted" },
    { client: { sslmode: "verify-ca", sslrootcert: ca }, expect: "encrypted" },
    { client: { sslmode: "verify-full", sslrootcert: ca }, expect: "encrypted" },
  ]);
  const refused = /server does not support TLS \(ssl=off\), but sslmode=[a-z-]+ requires it/;
  await table(t, f.off, [
    { client: { sslmode: "disable" }, expect: "plain" },
    { client: { sslmode: "allow" }, expect: "plain" },
    { client: { sslmode: "prefer" }, expect: "plain" },
    { client: { sslmode: "require" }, expect: "fails", code: "SSL_NOT_SUPPORTED", message: refused },
    { client: { sslmode: "verify-ca", sslrootcert: ca }, expect: "fails", code: "SSL_NOT_SUPPORTED", message: refused },
    {
      client: { sslmode: "verify-full", sslrootcert: ca },
      expect: "fails",
      code: "SSL_NOT_SUPPORTED",
      message: refused,
    },
  ]);
});

Deno.test("server certificates: wrong CA, host name and IP address not in the certificate", async (t) => {
  const f = await shared();
  const { ca, otherCa } = f.certs;
  const untrusted = /server certificate not trusted \(sslmode=[a-z-]+\): it is not signed by a trusted root/;
  // The client trusts another CA than the one that signed the server's certificate.
  await table(t, f.on, [
    {
      client: { sslmode: "verify-full", sslrootcert: otherCa.certPath },
      expect: "fails",
      code: "SSL_CERT_UNTRUSTED",
      message: untrusted,
    },
    {
      client: { sslmode: "verify-ca", sslrootcert: otherCa.certPath },
      expect: "fails",
      code: "SSL_CERT_UNTRUSTED",
      message: untrusted,
    },
    // libpq: with a root certificate, require verifies the chain like verify-ca.
    {
      client: { sslmode: "require", sslrootcert: otherCa.certPath },
      expect: "fails",
      code: "SSL_CERT_UNTRUSTED",
      message: untrusted,
    },
    // libpq 15: prefer retries without TLS when the handshake fails; allow never needed TLS.
    { client: { sslmode: "prefer", sslrootcert: otherCa.certPath }, expect: "plain" },
    { client: { sslmode: "allow", sslrootcert: otherCa.certPath }, expect: "plain" },
    // The certificate has DNS:localhost and IP:127.0.0.1.
    { client: { sslmode: "verify-full", sslrootcert: ca.certPath, host: "localhost" }, expect: "encrypted" },
    { client: { sslmode: "verify-full", sslrootcert: ca.certPath, host: "127.0.0.1" }, expect: "encrypted" },
    // Inline PEM instead of a path (libpq has no such thing: ours only).
  ]);
  await table(t, f.on, [
    { client: { sslmode: "verify-full", sslrootcert: ca.cert, host: "localhost" }, expect: "encrypted" },
    {
      client: { sslmode: "verify-full", sslrootcert: otherCa.cert },
      expect: "fails",
      code: "SSL_CERT_UNTRUSTED",
    },
  ], false);

  await t.step("the server's certificate is for other.example only", async (t) => {
    await serve(f.on, { settings: sslSettings(f.certs, "serverOther") });
    await table(t, f.on, [
      {
        client: { sslmode: "verify-full", sslrootcert: ca.certPath, host: "localhost" },
        expect: "fails",
        code: "SSL_CERT_NAME_MISMATCH",
        message: /host name "localhost" is not in the server certificate \(subjectAltName DNS:other\.example/,
      },
      {
        client: { sslmode: "verify-full", sslrootcert: ca.certPath, host: "127.0.0.1" },
        expect: "fails",
        code: "SSL_CERT_IP_MISMATCH",
        message: /IP address 127\.0\.0\.1 is not in the server certificate/,
      },
      // verify-ca checks the chain only; require without a root checks nothing.
      { client: { sslmode: "verify-ca", sslrootcert: ca.certPath, host: "localhost" }, expect: "encrypted" },
      { client: { sslmode: "require", sslrootcert: ca.certPath }, expect: "encrypted" },
      { client: { sslmode: "require" }, expect: "encrypted" },
    ]);
  });

  await t.step("the server's certificate comes from another CA", async (t) => {
    await serve(f.on, { settings: sslSettings(f.certs, "serverFromOtherCa") });
    await table(t, f.on, [
      {
        client: { sslmode: "verify-full", sslrootcert: ca.certPath, host: "localhost" },
        expect: "fails",
        code: "SSL_CERT_UNTRUSTED",
        message: /issued by dewey other CA/,
      },
      { client: { sslmode: "verify-full", sslrootcert: otherCa.certPath, host: "localhost" }, expect: "encrypted" },
      // require with no root accepts anything encrypted.
      { client: { sslmode: "require" }, expect: "encrypted" },
    ]);
    // The runtime's trust store knows neither test CA (libpq 15 has no "system": ours only).
    await table(t, f.on, [{
      client: { sslmode: "verify-full", sslrootcert: "system", host: "localhost" },
      expect: "fails",
      code: "SSL_CERT_UNTRUSTED",
      message: /runtime's trust store/,
    }], false);
  });
  await serve(f.on, { settings: sslSettings(f.certs, "server") });
});

Deno.test("pg_hba.conf: hostssl-only and hostnossl-only servers", async (t) => {
  const f = await shared();
  const ca = f.certs.ca.certPath;
  await t.step("hostssl only", async (t) => {
    await serve(f.on, { hba: HBA.hostsslOnly });
    await table(t, f.on, [
      {
        client: { sslmode: "disable" },
        expect: "fails",
        code: "28000",
        message:
          /no encryption \(the server accepts only TLS connections from here \(hostssl in pg_hba\.conf\), and sslmode=disable never tries TLS\)/,
      },
      // libpq: allow retries with TLS when the server rejects the plaintext attempt.
      { client: { sslmode: "allow" }, expect: "encrypted" },
      { client: { sslmode: "prefer" }, expect: "encrypted" },
      { client: { sslmode: "require" }, expect: "encrypted" },
      { client: { sslmode: "verify-full", sslrootcert: ca }, expect: "encrypted" },
    ]);
  });
  await t.step("hostnossl only", async (t) => {
    await serve(f.on, { hba: HBA.hostnosslOnly });
    const hint =
      /SSL encryption \(the server accepts only plaintext connections from here \(hostnossl in pg_hba\.conf\), and sslmode=[a-z-]+ requires TLS\)/;
    await table(t, f.on, [
      { client: { sslmode: "disable" }, expect: "plain" },
      { client: { sslmode: "allow" }, expect: "plain" },
      // libpq: prefer retries without TLS when the server rejects the TLS connection.
      { client: { sslmode: "prefer" }, expect: "plain" },
      { client: { sslmode: "require" }, expect: "fails", code: "28000", message: hint },
      { client: { sslmode: "verify-full", sslrootcert: ca }, expect: "fails", code: "28000", message: hint },
    ]);
  });
  await serve(f.on, { hba: HBA.any });
});

Deno.test("client certificates: hostssl ... cert", async (t) => {
  const f = await shared();
  const { ca, client, clientOtherCa, clientEncrypted } = f.certs;
  await serve(f.on, { hba: HBA.clientCert });
  await table(t, f.on, [
    { client: { sslmode: "require", sslcert: client.certPath, sslkey: client.keyPath }, expect: "encrypted" },
    {
      client: { sslmode: "verify-full", sslrootcert: ca.certPath, sslcert: client.certPath, sslkey: client.keyPath },
      expect: "encrypted",
    },
    {
      client: {
        sslmode: "require",
        sslcert: clientEncrypted.certPath,
        sslkey: clientEncrypted.keyPath,
        sslpassword: clientEncrypted.passphrase,
      },
      expect: "encrypted",
    },
    {
      client: { sslmode: "require" },
      expect: "fails",
      code: "28000",
      message:
        /requires a valid client certificate \(the server requires a client certificate: set sslcert and sslkey\)/,
    },
    {
      client: { sslmode: "require", sslcert: clientOtherCa.certPath, sslkey: clientOtherCa.keyPath },
      expect: "fails",
      code: "SSL_CLIENT_CERT_REJECTED",
      message: /client certificate \(sslcert, CN=postgres\) is not signed by a CA the server trusts/,
    },
    // prefer: rejected over TLS, then over plaintext (no hostnossl line): both reasons are told.
    {
      client: { sslmode: "prefer" },
      expect: "fails",
      code: "28000",
      message: /TLS attempt: .*requires a valid client certificate.*; then plaintext attempt: .*no encryption/,
    },
  ]);
  await t.step("certificate over TLS, or plaintext: what prefer falls back from", async (t) => {
    await serve(f.on, { hba: HBA.clientCertOrPlain });
    await table(t, f.on, [
      // The server rejects the TLS connection (no certificate): libpq retries without TLS.
      { client: { sslmode: "prefer" }, expect: "plain" },
      { client: { sslmode: "prefer", sslcert: client.certPath, sslkey: client.keyPath }, expect: "encrypted" },
      // With TLS 1.3 the refusal of a certificate is an alert after the handshake: libpq does not retry then.
      {
        client: { sslmode: "prefer", sslcert: clientOtherCa.certPath, sslkey: clientOtherCa.keyPath },
        expect: "fails",
        code: "SSL_CLIENT_CERT_REJECTED",
      },
    ]);
    await serve(f.on, { hba: HBA.clientCert });
  });
  await t.step("inline PEM certificate and key; the server sees the client certificate", async () => {
    await using db = open(f, f.on, {
      sslmode: "verify-full",
      sslrootcert: ca.cert,
      sslcert: client.cert,
      sslkey: client.key,
    });
    const { rows: [{ pid }] } = await db.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
    const server = await serverSsl(f.on, pid);
    assert.equal(server.ssl, true);
    assert.equal(server.clientDn, "/CN=postgres");
  });
  await serve(f.on, { hba: HBA.any });
});

Deno.test("TLS connections: health() reports protocol and cipher; cancel and pipelining work over TLS", async () => {
  const f = await shared();
  await using db = open(f, f.on, { sslmode: "verify-full", sslrootcert: f.certs.ca.certPath, pool_max: 2 });
  const health = await db.health();
  const server = (await f.on.psql(
    "SELECT version || '|' || cipher FROM pg_stat_ssl WHERE ssl AND pid IN " +
      "(SELECT pid FROM pg_stat_activity WHERE application_name = 'dewey') LIMIT 1",
    { host: f.on.socketDir },
  )).split("|");
  assert.deepEqual(health.tls, { enabled: true, protocol: server[0], cipher: server[1] });
  // A cancel request travels its own connection: over TLS too, and the server honours it.
  const started = performance.now();
  const opened = db.stats().opened;
  const err = await db.query("SELECT pg_sleep(30)", [], { timeout: 100 }).catch((e) => e);
  assert.ok(err instanceof QueryCancelledError, String(err));
  assert.ok(err.cause instanceof QueryError && err.cause.code === "57014", "cancelled on the server");
  assert.ok(performance.now() - started < 10_000, "the cancel did not take effect");
  // The cancel's answer came back over its TLS connection: the cancelled connection was kept, not discarded.
  await db.query("SELECT 1");
  assert.equal(db.stats().opened, opened);
  const results = await Promise.all(Array.from({ length: 20 }, (_, i) => db.query("SELECT $1::int AS n", [i])));
  assert.deepEqual(results.map((r) => r.rows[0].n), Array.from({ length: 20 }, (_, i) => i));
});

Deno.test("no key or password in any error, log, health output or printout", async () => {
  const f = await shared();
  const { client, clientEncrypted, clientOtherCa } = f.certs;
  const secrets = [
    clientEncrypted.passphrase,
    ...[client.key, clientEncrypted.key, clientOtherCa.key].flatMap((k) =>
      k.split("\n").filter((l) => l.length > 20 && !l.startsWith("-----"))
    ),
  ];
  const seen: string[] = [];
  const look = (value: unknown) => {
    for (let e = value, depth = 0; e instanceof Error && depth < 6; e = e.cause, depth++) {
      seen.push(e.message, e.stack ?? "", Deno.inspect(e));
    }
    if (!(value instanceof Error)) seen.push(typeof value === "string" ? value : Deno.inspect(value, { depth: 6 }));
  };
  await serve(f.on, { hba: HBA.clientCert });
  // Success with an encrypted key, failures over TLS, and a failure with an inline key the server rejects.
  for (
    const settings of [
      {
        sslmode: "require",
        sslcert: clientEncrypted.certPath,
        sslkey: clientEncrypted.keyPath,
        sslpassword: clientEncrypted.passphrase,
      },
      { sslmode: "prefer", sslcert: clientOtherCa.cert, sslkey: clientOtherCa.key },
      { sslmode: "verify-full", sslrootcert: f.certs.otherCa.cert, sslcert: client.cert, sslkey: client.key },
      { sslmode: "require", sslcert: client.cert, sslkey: clientEncrypted.key, sslpassword: "not-the-passphrase" },
    ]
  ) {
    await using db = open(f, f.on, settings);
    look(db);
    look(db.config);
    look(JSON.stringify(db.config));
    look(String(db.config));
    await db.validateConnection().catch(look);
    look(await db.health().catch((e) => e));
    look(JSON.stringify(await db.health().catch(() => ({}))));
  }
  look(f.logs.join("\n"));
  await serve(f.on, { hba: HBA.any });
  assert.ok(
    seen.some((s) => /SSL_CLIENT_CERT_REJECTED|not signed by a CA the server trusts/.test(s)),
    "no failure seen",
  );
  assert.ok(seen.some((s) => /sslpassword: does not decrypt sslkey/.test(s)), "no ConfigError seen");
  const text = seen.join("\n");
  for (const secret of secrets) assert.ok(!text.includes(secret), "a secret leaked");
  assert.ok(!/PRIVATE KEY-----/.test(text), "a private key leaked");
});

Deno.test("the TLS observer hears each attempt, what each negotiation verified, and each fallback", async () => {
  const f = await shared();
  const { ca, otherCa } = f.certs;
  /** The events of one validateConnection, in a compact form. */
  async function observed(client: Client, observe?: (e: TlsEvent) => void): Promise<string[]> {
    const events: TlsEvent[] = [];
    await using db = new DatabaseConnection({
      postgres: {
        host: "127.0.0.1",
        port: f.on.port,
        user: "postgres",
        dbname: "postgres",
        health_check_interval: 0,
        pool_max: 1, // one connection, so one sequence of events
        ...client,
      },
    }, {
      driver: (config) =>
        createDriver(config, {
          observeTls: (e) => {
            events.push(e);
            observe?.(e);
          },
        }),
      logger: false,
    });
    await db.validateConnection();
    return events.map((e) => {
      if (e.type === "attempt") return `attempt ${e.attempt} (${e.sslmode})`;
      if (e.type === "fallback") return `fallback ${e.from} → ${e.to} (${e.error.code})`;
      const n = e.negotiation;
      // The chain's reason depends on what the server sends (SELF_SIGNED_CERT_IN_CHAIN with the CA, ...).
      const tls = /^TLSv1\.[23]$/.test(n.protocol ?? "") && n.cipher ? "TLS" : `${n.protocol} ${n.cipher}`;
      return `negotiation ${n.answer} ${tls} chain=${n.chain}${n.chainError ? " (why)" : ""} ` +
        `hostname=${n.hostname} roots=${n.roots} subject=${n.certificate?.subject} error=${n.error?.code}`;
    });
  }
  assert.deepEqual(await observed({ sslmode: "verify-full", sslrootcert: ca.certPath, host: "localhost" }), [
    "attempt TLS (verify-full)",
    "negotiation S TLS chain=verified hostname=verified roots=sslrootcert subject=CN=localhost error=undefined",
  ]);
  assert.deepEqual(await observed({ sslmode: "require" }), [
    "attempt TLS (require)",
    "negotiation S TLS chain=unchecked hostname=unchecked roots=undefined subject=CN=localhost error=undefined",
  ]);
  // libpq's prefer: the handshake's verdict fails, the plaintext attempt follows.
  assert.deepEqual(await observed({ sslmode: "prefer", sslrootcert: otherCa.certPath }), [
    "attempt TLS (prefer)",
    "negotiation S TLS chain=failed (why) hostname=unchecked roots=sslrootcert " +
    "subject=CN=localhost error=SSL_CERT_UNTRUSTED",
    "fallback TLS → plaintext (SSL_CERT_UNTRUSTED)",
    "attempt plaintext (prefer)",
  ]);
  // libpq's allow: plaintext first; the server's refusal brings the TLS attempt.
  await serve(f.on, { hba: HBA.hostsslOnly });
  try {
    assert.deepEqual(await observed({ sslmode: "allow" }), [
      "attempt plaintext (allow)",
      "fallback plaintext → TLS (28000)",
      "attempt TLS (allow)",
      "negotiation S TLS chain=unchecked hostname=unchecked roots=undefined subject=CN=localhost error=undefined",
    ]);
  } finally {
    await serve(f.on, { hba: HBA.any });
  }
  // An observer that throws changes nothing for the connection.
  const events = await observed({ sslmode: "verify-full", sslrootcert: ca.certPath }, () => {
    throw new Error("observer bug");
  });
  assert.equal(events.length, 2);
});

Deno.test("clean up the shared clusters", async () => {
  if (!fixture) return;
  const f = await fixture;
  fixture = undefined;
  await Promise.all([f.on.destroy(), f.off.destroy(), f.certs.destroy()]);
});
