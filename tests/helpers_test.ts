import assert from "node:assert/strict";
import { startCluster } from "./helpers/cluster.ts";
import { makeCerts } from "./helpers/certs.ts";
import { closingServer, freePort, silentServer } from "./helpers/net.ts";

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

Deno.test("cluster: start, psql, restart, kill, destroy", async () => {
  const pg = await startCluster();
  try {
    assert.equal(pg.host, "127.0.0.1");
    assert.ok(pg.port > 0);
    assert.equal(pg.url(), `postgres://postgres@127.0.0.1:${pg.port}/postgres`);
    assert.equal(pg.url("test db", "u", "p@ss/word"), `postgres://u:p%40ss%2Fword@127.0.0.1:${pg.port}/test%20db`);
    assert.equal(await pg.psql("SELECT 1"), "1");
    assert.equal(await pg.psql("show fsync"), "off");
    assert.equal(await pg.psql("show server_encoding"), "UTF8");
    await pg.psql("create table t (x int); insert into t values (42)");

    const pid = await pg.psql("select pg_backend_pid()");
    await pg.restart();
    assert.equal(await pg.psql("select x from t"), "42");
    assert.notEqual(await pg.psql("select pg_backend_pid()"), pid);

    await pg.kill(); // immediate: crash recovery on the next start
    assert.equal(pg.running, false);
    await assert.rejects(pg.psql("select 1"), /psql failed/);
    await pg.start();
    assert.equal(await pg.psql("select x from t"), "42");
    assert.match(await pg.log(), /database system was interrupted/);

    await assert.rejects(pg.psql("select nope"), /column "nope" does not exist/);
  } finally {
    await pg.destroy();
  }
  assert.equal(await exists(pg.rootDir), false);
  await pg.destroy(); // twice is fine
});

for (const template of [true, false]) {
  Deno.test(`cluster: settings, hba, password (template: ${template})`, async () => {
    const password = "s3cr'et \\ pä$$ %L";
    await using pg = await startCluster({
      password,
      template,
      hba: ["local all all trust", "host all all 127.0.0.1/32 scram-sha-256"],
      settings: { idle_session_timeout: "5s", max_connections: 20, log_connections: true },
    });
    assert.equal(pg.password, password);
    assert.equal(await pg.psql("show idle_session_timeout"), "5s");
    assert.equal(await pg.psql("show max_connections"), "20");
    assert.equal(await pg.psql("show log_connections"), "on");
    assert.equal(await pg.psql("select current_user"), "postgres"); // sends the cluster's password
    assert.match(await pg.psql("select rolpassword from pg_authid where rolname = 'postgres'"), /^SCRAM-SHA-256\$/);
    await assert.rejects(pg.psql("select 1", { password: undefined }), /no password supplied/);
    await assert.rejects(pg.psql("select 1", { password: "wrong" }), /password authentication failed/);
    // over the unix socket: trust
    assert.equal(await pg.psql("select 1", { host: pg.socketDir, password: undefined }), "1");
  });
}

Deno.test("cluster: failed start throws with the server log", async () => {
  const err = await startCluster({ settings: { shared_buffers: "lots" } }).catch((e) => e);
  assert.ok(err instanceof Error);
  assert.match(err.message, /failed to start/);
  assert.match(err.message, /invalid value for parameter "shared_buffers"/);
  const dir = /server log tail \((\S+)\/server\.log\)/.exec(err.message)?.[1];
  assert.ok(dir);
  assert.equal(await exists(dir), false);
});

Deno.test("cluster: TLS with makeCerts (verify-full, cert auth)", async () => {
  await using certs = await makeCerts();
  await using pg = await startCluster({
    settings: {
      ssl: true,
      ssl_cert_file: certs.server.certPath, // absolute path into the certs dir
      ssl_key_file: certs.server.keyPath,
      ssl_ca_file: "root.crt", // relative to the data dir, written through `files`
    },
    files: { "root.crt": certs.ca.cert },
  });
  const tls = { host: "localhost", sslmode: "verify-full", sslrootcert: certs.ca.certPath };
  assert.equal(await pg.psql("select ssl from pg_stat_ssl where pid = pg_backend_pid()", tls), "t");
  await assert.rejects(
    pg.psql("select 1", { ...tls, sslrootcert: certs.otherCa.certPath }),
    /certificate verify failed/,
  );

  // certificate authentication
  await pg.configure({ hba: ["local all all trust", "hostssl all all 127.0.0.1/32 cert"] });
  await pg.reload();
  const client = { sslcert: certs.client.certPath, sslkey: certs.client.keyPath };
  assert.equal(await pg.psql("select current_user", { ...tls, ...client }), "postgres");
  const enc = certs.clientEncrypted;
  assert.equal(
    await pg.psql("select 1", { ...tls, sslcert: enc.certPath, sslkey: enc.keyPath, sslpassword: enc.passphrase }),
    "1",
  );
  await assert.rejects(
    pg.psql("select 1", { ...tls, sslcert: certs.clientOtherCa.certPath, sslkey: certs.clientOtherCa.keyPath }),
    /certificate|SSL|connection/i,
  );
  await assert.rejects(pg.psql("select 1", tls), /certificate/i);
});

Deno.test("cluster: streaming replica and promote", async () => {
  await using primary = await startCluster();
  await using replica = await primary.basebackupReplica();
  assert.notEqual(replica.port, primary.port);
  assert.notEqual(replica.dataDir, primary.dataDir);
  assert.equal(await replica.psql("select pg_is_in_recovery()"), "t");
  assert.equal(await primary.psql("select pg_is_in_recovery()"), "f");

  await primary.psql("create table r (x int); insert into r values (7)");
  const lsn = await primary.psql("select pg_current_wal_lsn()");
  for (let i = 0; await replica.psql(`select pg_last_wal_replay_lsn() >= '${lsn}'`) !== "t"; i++) {
    assert.ok(i < 200, "replica did not catch up");
    await new Promise((r) => setTimeout(r, 25));
  }
  assert.equal(await replica.psql("select x from r"), "7");
  await assert.rejects(replica.psql("insert into r values (8)"), /read-only transaction/);

  await replica.promote();
  assert.equal(await replica.psql("select pg_is_in_recovery()"), "f");
  await replica.psql("insert into r values (8)");
});

Deno.test("certs: files, permissions, chains", async () => {
  const certs = await makeCerts();
  const { dir } = certs;
  for (const c of [certs.ca, certs.otherCa, certs.server, certs.client, certs.clientEncrypted]) {
    assert.match(c.cert, /^-----BEGIN CERTIFICATE-----/);
    assert.equal((await Deno.stat(c.keyPath)).mode! & 0o777, 0o600);
    assert.equal(await Deno.readTextFile(c.certPath), c.cert);
  }
  assert.match(certs.client.key, /^-----BEGIN PRIVATE KEY-----/);
  assert.match(certs.clientEncrypted.key, /^-----BEGIN ENCRYPTED PRIVATE KEY-----/);
  assert.ok(certs.clientEncrypted.passphrase.length > 8);
  if (Deno.uid() === 0) assert.notEqual((await Deno.stat(certs.server.keyPath)).uid, 0);

  const verify = async (ca: string, cert: string, ...extra: string[]) => {
    const out = await new Deno.Command("openssl", { args: ["verify", "-CAfile", ca, ...extra, cert] }).output();
    return out.code === 0;
  };
  const local = ["-verify_hostname", "localhost", "-verify_ip", "127.0.0.1"];
  assert.equal(await verify(certs.ca.certPath, certs.server.certPath, ...local), true);
  assert.equal(await verify(certs.ca.certPath, certs.serverOther.certPath, ...local), false);
  assert.equal(await verify(certs.ca.certPath, certs.serverOther.certPath, "-verify_hostname", "other.example"), true);
  assert.equal(await verify(certs.ca.certPath, certs.serverFromOtherCa.certPath, ...local), false);
  assert.equal(await verify(certs.otherCa.certPath, certs.serverFromOtherCa.certPath, ...local), true);
  assert.equal(await verify(certs.ca.certPath, certs.clientOtherCa.certPath), false);

  await certs.destroy();
  await certs[Symbol.asyncDispose]();
  assert.equal(await exists(dir), false);
});

Deno.test("net: freePort, silentServer, closingServer", async () => {
  const port = freePort();
  const l = Deno.listen({ hostname: "127.0.0.1", port });
  l.close();

  {
    await using silent = silentServer();
    const conn = await Deno.connect({ hostname: silent.host, port: silent.port });
    await conn.write(new Uint8Array(8));
    await silent.waitForAccepted(1);
    assert.equal(silent.accepted, 1);
    // no answer within 100 ms
    const read = conn.read(new Uint8Array(1)).catch(() => null);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const res = await Promise.race([read, new Promise((r) => (timer = setTimeout(() => r("timeout"), 100)))]);
    clearTimeout(timer);
    assert.equal(res, "timeout");
    assert.equal(silent.bytesReceived, 8);
    assert.equal(silent.open, 1);
    await silent.close(); // closes our peer: the pending read ends
    assert.equal(await read, null);
    conn.close();
  }

  await using closing = closingServer();
  for (let i = 0; i < 3; i++) {
    const conn = await Deno.connect({ hostname: closing.host, port: closing.port });
    const n = await conn.read(new Uint8Array(1)).catch(() => null);
    assert.equal(n, null);
    conn.close();
  }
  await closing.waitForAccepted(3);
  assert.equal(closing.accepted, 3);
  assert.equal(closing.open, 0);
});
