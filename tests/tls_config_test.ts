// TLS settings checked before any connection: certificate files read once, PEM parsed, keys decrypted
// and matched, modes the adapter cannot honour refused. Plus the SSLRequest exchange against fake servers.
import assert from "node:assert/strict";
import net from "node:net";
import { createDriver } from "../adapters/postgres.ts";
import { prepareTls } from "../adapters/postgres_tls.ts";
import { getConnection as getConnectionFromMod } from "../mod.ts";
import { parseConfig } from "../src/config/parse.ts";
import { getConnection } from "../mod.ts";
import { ConfigError, DatabaseConnectionError } from "../src/errors.ts";
import { makeCerts } from "./helpers/certs.ts";
import { closingServer, silentServer } from "./helpers/net.ts";

const certs = await makeCerts();
const dir = certs.dir;
const garbage = `${dir}/garbage.pem`;
await Deno.writeTextFile(garbage, "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n");

/** The ConfigError `settings` give, proving on the way that nothing dialled `server`. */
async function configError(settings: Record<string, unknown>, viaMod = false): Promise<ConfigError> {
  await using server = silentServer();
  const config = {
    postgres: { host: server.host, port: server.port, user: "postgres", health_check_interval: 0, ...settings },
  };
  const err =
    await (viaMod
      ? getConnectionFromMod(config, { logger: false })
      : getConnection(config, { driver: createDriver, logger: false })).then(
        () => assert.fail("connected"),
        (e) => e,
      );
  assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${err}`);
  assert.equal(server.accepted, 0, "a connection was attempted");
  return err;
}

function issue(err: ConfigError, path: string): string {
  const found = err.issues.find((i) => i.path === `database.postgres.${path}`);
  assert.ok(found, `no issue for ${path} in: ${err.message}`);
  return found.message;
}

Deno.test("certificate files: missing, a directory, no PEM, PEM that does not parse — each named by its key", async () => {
  const err = await configError({
    sslmode: "verify-full",
    sslrootcert: `${dir}/missing.crt`,
    sslcert: dir,
    sslkey: certs.client.certPath,
  });
  assert.match(issue(err, "sslrootcert"), /file ".*missing\.crt" does not exist/);
  assert.match(issue(err, "sslcert"), /is a directory, not a PEM file/);
  assert.match(issue(err, "sslkey"), /holds no PEM private key/);
  // One error lists every problem.
  assert.equal(err.issues.length, 3, err.message);

  assert.match(
    issue(await configError({ sslmode: "require", sslrootcert: certs.client.keyPath }), "sslrootcert"),
    /holds no PEM certificate/,
  );
  assert.match(
    issue(await configError({ sslmode: "require", sslrootcert: garbage }), "sslrootcert"),
    /the certificate does not parse/,
  );
  // Inline PEM is parsed the same way.
  assert.match(
    issue(
      await configError({ sslmode: "require", sslrootcert: `${certs.ca.cert}\n${await Deno.readTextFile(garbage)}` }),
      "sslrootcert",
    ),
    /certificate 2 of 2 does not parse/,
  );
});

Deno.test("client keys: encrypted without sslpassword, wrong sslpassword, not matching sslcert, half a pair", async () => {
  const { client, clientEncrypted, clientOtherCa } = certs;
  assert.match(
    issue(await configError({ sslcert: client.certPath, sslkey: clientEncrypted.keyPath }), "sslpassword"),
    /is required: sslkey is encrypted/,
  );
  const wrong = await configError({ sslcert: client.certPath, sslkey: clientEncrypted.key, sslpassword: "wrong-pass" });
  assert.match(issue(wrong, "sslpassword"), /does not decrypt sslkey \(wrong password\)/);
  const mismatch = await configError({ sslcert: client.certPath, sslkey: clientOtherCa.keyPath });
  assert.match(issue(mismatch, "sslkey"), /does not match the certificate in sslcert \(CN=postgres\)/);
  assert.match(issue(await configError({ sslcert: client.certPath }), "sslkey"), /is required with sslcert/);
  assert.match(issue(await configError({ sslkey: client.keyPath }), "sslcert"), /is required with sslkey/);
  // A secret's path is hidden like the secret; where it came from is told.
  const missingKey = await configError({ sslcert: client.certPath, sslkey: `${dir}/nope.key` });
  assert.match(issue(missingKey, "sslkey"), /the file it names does not exist/);
  assert.equal(missingKey.issues[0].source, "object");
  for (const e of [wrong, mismatch, missingKey]) {
    const text = `${e.message}\n${e.stack}\n${Deno.inspect(e)}`;
    assert.ok(!text.includes(clientEncrypted.passphrase) && !/PRIVATE KEY|wrong-pass/.test(text), text);
    for (const line of [client.key, clientOtherCa.key].flatMap((k) => k.split("\n").filter((l) => l.length > 20))) {
      assert.ok(!text.includes(line), "key material in an error");
    }
  }
});

Deno.test("modes: verify-* need a root; sslrootcert=system means verify-full; disable reads nothing", async () => {
  assert.match(
    issue(await configError({ sslmode: "verify-ca" }), "sslrootcert"),
    /is required with sslmode=verify-ca: a file path, PEM text, or "system"/,
  );
  assert.match(
    issue(await configError({ sslmode: "require", sslrootcert: "system" }), "sslmode"),
    /"require" is too weak with sslrootcert=system .*: use verify-full/,
  );
  // Through mod.ts (the registry's lazily loaded adapter), the same ConfigError.
  assert.match(
    issue(await configError({ sslmode: "verify-full", sslrootcert: `${dir}/missing.crt` }, true), "sslrootcert"),
    /does not exist/,
  );
  // Left at its default, sslmode becomes verify-full with system roots (libpq 16).
  const system = parseConfig({ postgres: { sslrootcert: "system" } }, { env: {} });
  assert.equal(system.sslmode, "prefer");
  assert.equal((await prepareTls(system, { ownSocket: true })).sslmode, "verify-full");
  // sslmode=disable never reads the files, as libpq.
  const disabled = parseConfig({ postgres: { sslmode: "disable", sslrootcert: `${dir}/missing.crt` } }, { env: {} });
  assert.deepEqual((await prepareTls(disabled, { ownSocket: true })).material, {});
  assert.equal((await createDriver(disabled)).name, "postgres");
});

Deno.test("a mode the adapter cannot honour is refused, not downgraded", async () => {
  // Without its own sockets (postgres.js dialling by itself, as on Workers) no chain can be verified as asked.
  for (
    const [settings, key] of [
      [{ sslmode: "verify-full", sslrootcert: certs.ca.certPath }, "sslmode"],
      [{ sslmode: "verify-ca", sslrootcert: certs.ca.certPath }, "sslmode"],
      [{ sslmode: "require", sslrootcert: certs.ca.certPath }, "sslrootcert"],
      [{ sslmode: "require", sslcert: certs.client.certPath, sslkey: certs.client.keyPath }, "sslcert"],
    ] as const
  ) {
    const err = await createDriver(parseConfig({ postgres: settings }, { env: {} }), { socket: null }).then(
      () => assert.fail("accepted"),
      (e) => e,
    );
    assert.ok(err instanceof ConfigError);
    assert.match(issue(err, key), /needs the postgres adapter's own sockets|client certificates need/);
  }
});

Deno.test("SSLRequest exchange: a server that hangs up, one that answers S with extra bytes", async () => {
  await using closing = closingServer();
  const err = await getConnection({
    postgres: {
      host: closing.host,
      port: closing.port,
      sslmode: "require",
      connect_timeout: "5s",
      health_check_interval: 0,
    },
  }, { driver: createDriver, logger: false }).catch((e) => e);
  assert.ok(err instanceof DatabaseConnectionError, String(err));
  assert.match(err.message, /closed the connection before answering the TLS request/);

  // Unencrypted bytes after 'S' may have been injected by a man in the middle: refuse (CVE-2021-23222).
  const server = net.createServer((s) => s.once("data", () => s.end(new TextEncoder().encode("SX"))));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  try {
    const port = (server.address() as net.AddressInfo).port;
    const err = await getConnection({
      postgres: { host: "127.0.0.1", port, sslmode: "require", connect_timeout: "5s", health_check_interval: 0 },
    }, { driver: createDriver, logger: false }).catch((e) => e);
    assert.ok(err instanceof DatabaseConnectionError, String(err));
    assert.equal(err.code, "SSL_HANDSHAKE_FAILED");
    assert.match(err.message, /unencrypted data after accepting TLS/);
  } finally {
    await new Promise((r) => server.close(r));
  }
});

Deno.test("clean up the certificates", async () => {
  await certs.destroy();
});
