// libpq's parameters against a real server: a throwaway cluster with TLS, one role per authentication method
// (SCRAM, md5, trust), its Unix socket, a password file and a service file written here. Wherever libpq 15 can
// express a case, psql runs the same string and must reach the same outcome.
import assert from "node:assert/strict";
import { runDoctor } from "../doctor/mod.ts";
import { DatabaseConnection, getConnection } from "../mod.ts";
import { DatabaseConnectionError } from "../src/errors.ts";
import type { Logger } from "../src/logger.ts";
import { type Certs, makeCerts } from "./helpers/certs.ts";
import { type Cluster, startCluster } from "./helpers/cluster.ts";

const PASSWORD = "S3cret-Pw!libpq";

interface Fixture {
  certs: Certs;
  pg: Cluster;
  home: string;
}

let fixture: Promise<Fixture> | undefined;
function shared(): Promise<Fixture> {
  return fixture ??= (async () => {
    const certs = await makeCerts();
    const pg = await startCluster({
      password: PASSWORD,
      settings: { ssl: true, ssl_cert_file: certs.server.certPath, ssl_key_file: certs.server.keyPath },
      hba: [
        "local all all trust",
        "host all md5user 127.0.0.1/32 md5",
        "host all trustuser 127.0.0.1/32 trust",
        "host all all 127.0.0.1/32 scram-sha-256",
      ],
    });
    await pg.psql(
      `SET password_encryption = 'md5'; CREATE ROLE md5user LOGIN PASSWORD '${PASSWORD}'; ` +
        `RESET password_encryption; CREATE ROLE trustuser LOGIN; CREATE ROLE scramuser LOGIN PASSWORD '${PASSWORD}'`,
      { host: pg.socketDir },
    );
    const home = await Deno.makeTempDir({ prefix: "dewey-libpq-home-" });
    return { certs, pg, home };
  })();
}

async function tearDown(): Promise<void> {
  if (!fixture) return;
  const f = await fixture;
  await f.pg.destroy();
  await f.certs.destroy();
  await Deno.remove(f.home, { recursive: true });
}

/** psql 15 on `conninfo` in a clean environment: whether it connects, and what it printed. */
async function psql(conninfo: string, env: Record<string, string> = {}, sql = "SELECT 1") {
  const out = await new Deno.Command("psql", {
    args: ["-X", "-A", "-t", "-w", "-d", conninfo, "-c", sql],
    env: { PATH: Deno.env.get("PATH") ?? "/usr/bin", HOME: "/nonexistent", PGCONNECT_TIMEOUT: "10", ...env },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim() + new TextDecoder().decode(out.stderr).trim();
  return { ok: out.code === 0, text };
}

/** What our library does with `text` (and `env`): the rows of `sql`, or the error. */
async function ours(text: string, env: Record<string, string> = {}, sql = "SELECT 1 AS one", logs: string[] = []) {
  try {
    const db = await getConnection(text, { env: { HOME: "/nonexistent", ...env }, logger: capture(logs) });
    try {
      return { ok: true, rows: await db.query(sql).then((r) => r.rows), db };
    } finally {
      await db.close();
    }
  } catch (error) {
    return { ok: false, error: error as Error & { code?: string } };
  }
}

function capture(logs: string[]): Logger {
  const sink = (level: string) => (message: string, fields?: Record<string, unknown>) =>
    logs.push(`${level} ${message} ${JSON.stringify(fields ?? {})}`);
  return { debug: sink("debug"), info: sink("info"), warn: sink("warn"), error: sink("error") };
}

Deno.test("channel_binding: SCRAM-SHA-256-PLUS over TLS; require refuses md5, trust, plaintext and sockets, as psql", async (t) => {
  const f = await shared();
  const port = f.pg.port;
  for (const user of ["scramuser", "md5user", "trustuser"]) {
    for (const sslmode of ["require", "prefer", "disable"]) {
      for (const cb of ["require", "prefer", "disable"]) {
        const text = `host=127.0.0.1 port=${port} dbname=postgres user=${user} password=${PASSWORD} ` +
          `sslmode=${sslmode} channel_binding=${cb}`;
        await t.step(`${user} sslmode=${sslmode} channel_binding=${cb}`, async () => {
          const [theirs, mine] = await Promise.all([psql(text), ours(text)]);
          assert.equal(mine.ok, theirs.ok, `psql: ${theirs.text}; ours: ${mine.error?.message}`);
          if (!mine.ok && sslmode !== "disable") {
            assert.equal(mine.error?.code, "CHANNEL_BINDING", mine.error?.message);
            assert.match(theirs.text, /channel binding/);
          }
        });
      }
    }
  }
  await t.step("require over the Unix socket (no TLS there)", async () => {
    const text = `host=${f.pg.socketDir} port=${port} dbname=postgres user=scramuser channel_binding=require`;
    const [theirs, mine] = await Promise.all([psql(text), ours(text)]);
    assert.equal(theirs.ok, false);
    assert.equal(mine.ok, false);
    assert.equal(mine.error?.code, "CHANNEL_BINDING");
    assert.match(mine.error!.message, /server authenticated client without channel binding/);
  });
});

Deno.test("errors that tell the truth: no password, a wrong one, no database; thrown at once, nothing reconnects", async () => {
  const f = await shared();
  const url = `postgres://scramuser@127.0.0.1:${f.pg.port}/postgres?sslmode=disable`;
  const cases: [string, string, RegExp][] = [
    [url, "PASSWORD_MISSING", /asks user "scramuser" for SASL \(SCRAM\) authentication, and no password is configured/],
    [url.replace("scramuser@", "scramuser:wrong@"), "28P01", /password authentication failed/],
    [url.replace("scramuser@", `scramuser:${PASSWORD}@`).replace("/postgres", "/nope"), "3D000", /nope/],
    [
      url.replace("sslmode=disable", `sslmode=verify-full&sslrootcert=${f.certs.otherCa.certPath}`),
      "SSL_CERT_UNTRUSTED",
      /not trusted/,
    ],
    [url.replace("sslmode=disable", "sslmode=disable&pool_mx=1"), "", /unknown key "pool_mx"/],
  ];
  for (const [text, code, message] of cases) {
    const logs: string[] = [];
    const started = performance.now();
    const result = await ours(text, {}, "SELECT 1", logs);
    assert.equal(result.ok, false);
    if (code) assert.equal(result.error?.code, code, result.error?.message);
    assert.match(result.error!.message, message);
    assert.ok(!(result.error instanceof DatabaseConnectionError) || !result.error.retryable, `${code}: not retryable`);
    assert.ok(performance.now() - started < 5000, `${code}: thrown at once`);
    await new Promise((r) => setTimeout(r, 150)); // a retry the pool scheduled would have logged by now
    assert.deepEqual(logs.filter((l) => /reconnecting/.test(l)), [], `${code}: no "reconnecting" line`);
  }
  const theirs = await psql(`host=127.0.0.1 port=${f.pg.port} dbname=postgres user=scramuser sslmode=disable`);
  assert.match(theirs.text, /no password supplied/);
  // A refusal decided on our side closes the socket: no backend is left waiting for authentication_timeout.
  assert.equal(await openSockets(f.pg.port), "");
});

/** Established TCP connections to `port`, as `ss` lists them (empty: none). */
async function openSockets(port: number): Promise<string> {
  const out = await new Deno.Command("ss", { args: ["-Htn", "state", "established", `( dport = :${port} )`] }).output();
  return new TextDecoder().decode(out.stdout).trim();
}

Deno.test("errors that tell the truth: a pool the server refuses tells every caller why, and announces no reconnection", async () => {
  const f = await shared();
  const logs: string[] = [];
  await using db = new DatabaseConnection(
    `postgres://scramuser:wrong@127.0.0.1:${f.pg.port}/postgres?sslmode=disable`,
    {
      logger: capture(logs),
      env: {},
    },
  );
  const refused = (e: Error & { code?: string; retryable?: boolean }) =>
    e.code === "28P01" && /password authentication failed/.test(e.message) && e.retryable === false;
  await assert.rejects(db.query("SELECT 1"), refused);
  await new Promise((r) => setTimeout(r, 400));
  // Turned away at once ("refusing the connection"), or, when it arrives while the pool's timer is trying again,
  // answered by that attempt: the same refusal either way.
  await assert.rejects(db.query("SELECT 1"), refused);
  assert.deepEqual(logs.filter((l) => /reconnecting/.test(l)), []);
});

Deno.test("options: -c settings at startup, from a URL, a keyword/value string and PGOPTIONS, as psql", async () => {
  const f = await shared();
  const base = `host=127.0.0.1 port=${f.pg.port} dbname=postgres user=trustuser sslmode=disable`;
  const sql = "SELECT current_setting('search_path') AS s, current_setting('statement_timeout') AS t";
  const forms: [string, Record<string, string>][] = [
    [`${base} options='-c search_path=app\\,public -c statement_timeout=5s'`, {}],
    [
      `postgres://trustuser@127.0.0.1:${f.pg.port}/postgres?sslmode=disable&options=-c%20search_path%3Dapp%5C%2Cpublic%20-c%20statement_timeout%3D5s`,
      {},
    ],
    [base, { PGOPTIONS: "-c search_path=app\\,public -c statement_timeout=5s" }],
  ];
  for (const [text, env] of forms) {
    const [mine, theirs] = await Promise.all([ours(text, env, sql), psql(text, env, sql)]);
    assert.deepEqual(mine.rows, [{ s: "app,public", t: "5s" }], text);
    assert.equal(theirs.text, "app,public|5s");
  }
});

Deno.test("Unix sockets: YAML host, ?host=, a percent-encoded URL host and PGHOST reach <dir>/.s.PGSQL.<port>", async () => {
  const f = await shared();
  const { socketDir: dir, port } = f.pg;
  const sql = "SELECT inet_server_addr() IS NULL AS socket";
  const forms: [string | Record<string, unknown>, Record<string, string>][] = [
    [{ postgres: { host: dir, port, user: "scramuser", dbname: "postgres" } }, {}],
    [`postgres://scramuser@/postgres?host=${dir}&port=${port}`, {}],
    [`postgresql://scramuser@${encodeURIComponent(dir)}:${port}/postgres`, {}],
    ["postgres:///postgres?user=scramuser", { PGHOST: dir, PGPORT: String(port) }],
  ];
  for (const [input, env] of forms) {
    const db = await getConnection(input, { env, logger: false });
    try {
      assert.deepEqual((await db.query(sql)).rows, [{ socket: true }], JSON.stringify(input));
      assert.equal(db.config.host, dir);
    } finally {
      await db.close();
    }
  }
  const theirs = await psql(`postgresql://scramuser@${encodeURIComponent(dir)}:${port}/postgres`, {}, sql);
  assert.equal(theirs.text, "t");
});

Deno.test("password file: ~/.pgpass gives the password; a group-readable one is ignored with a clear error, as psql", async () => {
  const f = await shared();
  const pgpass = `${f.home}/.pgpass`;
  await Deno.writeTextFile(pgpass, `# ours\n127.0.0.1:${f.pg.port}:*:scramuser:${PASSWORD.replaceAll(":", "\\:")}\n`);
  await Deno.chmod(pgpass, 0o600);
  const text = `postgres://scramuser@127.0.0.1:${f.pg.port}/postgres?sslmode=disable`;
  const mine = await ours(text, { HOME: f.home });
  assert.ok(mine.ok, mine.error?.message);
  assert.ok((await psql(text, { HOME: f.home })).ok);
  const db = new DatabaseConnection(text, { env: { HOME: f.home }, logger: false });
  assert.equal(db.config.sources.password, `${pgpass}:2`);
  await db.close();
  await Deno.chmod(pgpass, 0o640);
  try {
    const refused = await ours(text, { HOME: f.home });
    assert.equal(refused.error?.code, "PASSWORD_MISSING");
    assert.match(refused.error!.message, /\.pgpass ignored: it has group or world access/);
    const theirs = await psql(text, { HOME: f.home });
    assert.equal(theirs.ok, false);
    assert.match(theirs.text, /has group or world access/);
  } finally {
    await Deno.remove(pgpass);
  }
});

Deno.test("service file: service=name reads ~/.pg_service.conf, as psql", async () => {
  const f = await shared();
  await Deno.writeTextFile(
    `${f.home}/.pg_service.conf`,
    `[ours]\nhost=127.0.0.1\nport=${f.pg.port}\nuser=scramuser\ndbname=postgres\npassword=${PASSWORD}\nsslmode=require\n`,
  );
  try {
    const sql = "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()";
    for (
      const [text, env] of [["service=ours", {}], [`postgres:///?service=ours`, {}], [{}, {
        PGSERVICE: "ours",
      }]] as const
    ) {
      const db = await getConnection(text, { env: { HOME: f.home, ...env }, logger: false });
      try {
        assert.deepEqual((await db.query(sql)).rows, [{ ssl: true }]);
        assert.equal(db.config.sources.port, `${f.home}/.pg_service.conf:3 [ours]`);
      } finally {
        await db.close();
      }
    }
    assert.equal((await psql("service=ours", { HOME: f.home }, sql)).text, "t");
  } finally {
    await Deno.remove(`${f.home}/.pg_service.conf`);
  }
});

Deno.test("hostaddr: dials the address, verifies the host name; TLS versions and SNI, as psql", async () => {
  const f = await shared();
  const base = `host=localhost hostaddr=127.0.0.1 port=${f.pg.port} dbname=postgres user=scramuser ` +
    `password=${PASSWORD} sslrootcert=${f.certs.ca.certPath}`;
  const sql = "SELECT version FROM pg_stat_ssl WHERE pid = pg_backend_pid()";
  const cases: [string, string | undefined][] = [
    [`${base} sslmode=verify-full`, "TLSv1.3"],
    [`${base} sslmode=verify-full ssl_max_protocol_version=TLSv1.2`, "TLSv1.2"],
    [`${base} sslmode=verify-full sslsni=0 ssl_min_protocol_version=TLSv1.3`, "TLSv1.3"],
    [`host=other.example hostaddr=127.0.0.1 ${base.slice(base.indexOf("port="))} sslmode=verify-full`, undefined],
  ];
  for (const [text, version] of cases) {
    const [mine, theirs] = await Promise.all([ours(text, {}, sql), psql(text, {}, sql)]);
    assert.equal(mine.ok, theirs.ok, `${text}: psql ${theirs.text}; ours ${mine.error?.message}`);
    if (version) {
      assert.deepEqual(mine.rows, [{ version }]);
      assert.equal(theirs.text, version);
    } else assert.equal(mine.error?.code, "SSL_CERT_NAME_MISMATCH");
  }
});

Deno.test("require_auth and sslnegotiation=direct (libpq 16 and 17: no psql 15 to compare)", async () => {
  const f = await shared();
  const at = (user: string, extra: string) =>
    `host=127.0.0.1 port=${f.pg.port} dbname=postgres user=${user} password=${PASSWORD} sslmode=disable ${extra}`;
  assert.ok((await ours(at("scramuser", "require_auth=scram-sha-256"))).ok);
  assert.ok((await ours(at("md5user", "require_auth=!password"))).ok);
  const refused = await ours(at("md5user", "require_auth=scram-sha-256"));
  assert.equal(refused.error?.code, "AUTH_METHOD_REFUSED");
  assert.match(refused.error!.message, /requirement "scram-sha-256" failed: the server asked for an MD5 password/);
  const none = await ours(at("trustuser", "require_auth=md5"));
  assert.match(none.error!.message, /the server did not ask for authentication/);
  assert.ok((await ours(at("trustuser", "require_auth=none"))).ok);
  const direct = await ours(at("scramuser", "").replace("sslmode=disable", "sslmode=require sslnegotiation=direct"));
  assert.equal(direct.ok, false, "PostgreSQL 15 does not speak direct TLS");
  assert.equal(direct.error?.code, "SSL_HANDSHAKE_FAILED", direct.error?.message);
});

Deno.test("no configuration: getConnection() and new DatabaseConnection() resolve PG*, ~/.pgpass and the service", async () => {
  const f = await shared();
  await Deno.writeTextFile(`${f.home}/.pgpass`, `*:*:*:scramuser:${PASSWORD}\n`);
  await Deno.chmod(`${f.home}/.pgpass`, 0o600);
  const env = {
    HOME: f.home,
    PGHOST: f.pg.socketDir,
    PGPORT: String(f.pg.port),
    PGUSER: "scramuser",
    PGDATABASE: "postgres",
    DEWEY_CONFIG: "",
  };
  try {
    // A config file in the working directory would be read first: these run where there is none.
    const cwd = Deno.cwd();
    Deno.chdir(f.home);
    try {
      const db = await getConnection(undefined, { env, logger: false });
      assert.equal(db.config.sources.host, "PGHOST");
      assert.deepEqual((await db.query("SELECT current_user AS u")).rows, [{ u: "scramuser" }]);
      await db.close();
      await using sync = new DatabaseConnection(undefined, { env, logger: false });
      assert.equal(sync.config.sources.password, `${f.home}/.pgpass:1`);
      await sync.validateConnection();
    } finally {
      Deno.chdir(cwd);
    }
  } finally {
    await Deno.remove(`${f.home}/.pgpass`);
  }
});

/** A CRL signed by `ca` revoking `revoked` (or nothing), as a file in `dir`; made with the openssl CLI. */
async function makeCrl(dir: string, ca: { certPath: string; keyPath: string }, revoked?: string): Promise<string> {
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(`${dir}/index.txt`, "");
  await Deno.writeTextFile(`${dir}/crlnumber`, "1000\n");
  await Deno.writeTextFile(
    `${dir}/ca.cnf`,
    `[ca]\ndefault_ca = d\n[d]\ndatabase = ${dir}/index.txt\ncrlnumber = ${dir}/crlnumber\n` +
      `default_md = sha256\ndefault_crl_days = 30\n`,
  );
  const openssl = async (...args: string[]) => {
    const out = await new Deno.Command("openssl", { args, stdout: "null", stderr: "piped" }).output();
    if (out.code !== 0) throw new Error(`openssl ${args[0]}: ${new TextDecoder().decode(out.stderr)}`);
  };
  const common = ["-config", `${dir}/ca.cnf`, "-keyfile", ca.keyPath, "-cert", ca.certPath];
  if (revoked) await openssl("ca", ...common, "-revoke", revoked);
  await openssl("ca", ...common, "-gencrl", "-out", `${dir}/crl.pem`);
  return `${dir}/crl.pem`;
}

Deno.test("sslcrl and sslcrldir: a revoked server certificate is refused, as psql refuses it", async () => {
  const f = await shared();
  const clean = await makeCrl(`${f.home}/crl-clean`, f.certs.ca);
  const revoked = await makeCrl(`${f.home}/crl-revoked`, f.certs.ca, f.certs.server.certPath);
  const base = `host=localhost hostaddr=127.0.0.1 port=${f.pg.port} dbname=postgres user=scramuser ` +
    `password=${PASSWORD} sslmode=verify-full sslrootcert=${f.certs.ca.certPath}`;
  for (const [crl, ok] of [[clean, true], [revoked, false]] as const) {
    const text = `${base} sslcrl=${crl}`;
    const [mine, theirs] = await Promise.all([ours(text), psql(text)]);
    assert.equal(theirs.ok, ok, theirs.text);
    assert.equal(mine.ok, ok, mine.error?.message);
    if (!ok) {
      assert.equal(mine.error?.code, "SSL_CERT_UNTRUSTED");
      assert.match(mine.error!.message, /CERT_REVOKED/);
    }
  }
  // libpq finds CRLs in a directory by OpenSSL's hashed names; any PEM file there counts here.
  const dir = `${f.home}/crl-dir`;
  await Deno.mkdir(dir);
  const hash = new TextDecoder().decode(
    (await new Deno.Command("openssl", { args: ["crl", "-hash", "-noout", "-in", revoked], stdout: "piped" }).output())
      .stdout,
  ).trim();
  await Deno.copyFile(revoked, `${dir}/${hash}.r0`);
  const text = `${base} sslcrldir=${dir}`;
  const [mine, theirs] = await Promise.all([ours(text), psql(text)]);
  assert.equal(theirs.ok, false, theirs.text);
  assert.equal(mine.error?.code, "SSL_CERT_UNTRUSTED", mine.error?.message);
});

Deno.test("doctor: every libpq parameter shown with its source, a password file's line, a service's section", async () => {
  const f = await shared();
  await Deno.writeTextFile(`${f.home}/.pg_service.conf`, `[doc]\nhost=127.0.0.1\nport=${f.pg.port}\nuser=scramuser\n`);
  await Deno.writeTextFile(`${f.home}/.pgpass`, `*:*:*:scramuser:${PASSWORD}\n`);
  await Deno.chmod(`${f.home}/.pgpass`, 0o600);
  try {
    const report = await runDoctor("service=doc dbname=postgres channel_binding=require options='-c search_path=x'", {
      env: { HOME: f.home },
      samples: 1,
    });
    assert.ok(report.ok, report.summary);
    const entry = (key: string) => report.config?.find((e) => e.key === key);
    assert.equal(entry("port")?.source, `${f.home}/.pg_service.conf:3 [doc]`);
    assert.equal(entry("service")?.value, "doc");
    assert.equal(entry("password")?.value, "***");
    assert.equal(entry("password")?.source, `${f.home}/.pgpass:1`);
    assert.equal(entry("channel_binding")?.value, "require");
    assert.equal(entry("options")?.value, "-c search_path=x");
    assert.ok(!JSON.stringify(report).includes(PASSWORD));
    await Deno.chmod(`${f.home}/.pgpass`, 0o644);
    const refused = await runDoctor("service=doc dbname=postgres", { env: { HOME: f.home }, samples: 1 });
    assert.equal(refused.ok, false);
    assert.match(
      refused.config?.find((e) => e.key === "password")?.source ?? "",
      /ignored: it has group or world access/,
    );
    assert.match(JSON.stringify(refused.hosts), /PASSWORD_MISSING|no password is configured/);
  } finally {
    await Deno.remove(`${f.home}/.pg_service.conf`);
    await Deno.remove(`${f.home}/.pgpass`);
  }
});

Deno.test("libpq_connect: tear down", tearDown);
