// Neon adapter specifics beyond the conformance suite: settings mapping, connection facts,
// lost connections and failed connects, through the local WebSocket proxy.
import assert from "node:assert/strict";
import { neonSocketSettings } from "../adapters/neon.ts";
import { parseConfig } from "../src/config/parse.ts";
import { type ConfigError, DatabaseConnectionError, QueryError } from "../src/errors.ts";
import { admin, appName, backends, waitFor } from "./helpers/db.ts";
import { neonDb } from "./helpers/neon.ts";
import { silentServer } from "./helpers/net.ts";

const sql = admin();
const settings = (url: string) => neonSocketSettings(parseConfig(url, { env: {} }));

Deno.test("neon settings: ws_proxy and sslmode map to the proxy address and ws:/wss:", () => {
  const local = settings("postgres://u@127.0.0.1:5432/db?driver=neon&ws_proxy=127.0.0.1:8080/v2");
  assert.equal(local.wsProxy("127.0.0.1", 5432), "127.0.0.1:8080/v2?address=127.0.0.1:5432");
  assert.equal(local.useSecureWebSocket, false, "prefer + loopback proxy: ws");
  assert.equal(local.pipelineConnect, false, "SCRAM needs the startup unpipelined");
  const remote = settings("postgres://u@db.internal/db?driver=neon&ws_proxy=proxy.example.com/v2");
  assert.equal(remote.useSecureWebSocket, true, "prefer + remote proxy: wss");
  assert.equal(remote.wsProxy("::1", 5432), "proxy.example.com/v2?address=[::1]:5432");
  const neon = settings("postgres://u@ep-x.neon.tech/db?driver=neon&sslmode=require");
  assert.equal(neon.wsProxy("ep-x.neon.tech", 5432), "ep-x.neon.tech/v2", "Neon's own endpoint");
  assert.equal(neon.useSecureWebSocket, true);
  assert.equal(
    settings("postgres://u@h/db?driver=neon&sslmode=disable&ws_proxy=p.example:1").useSecureWebSocket,
    false,
  );
  const explicit = settings(`postgres://u@h/db?driver=neon&ws_proxy=${encodeURIComponent("wss://127.0.0.1:9/x")}`);
  assert.equal(explicit.useSecureWebSocket, true, "a scheme in ws_proxy wins");
  assert.equal(explicit.wsProxy("h", 5432), "127.0.0.1:9/x?address=h:5432");
  assert.throws(
    () => settings("postgres://u@h/db?driver=neon&ws_proxy=http://proxy/v2"),
    (e: ConfigError) => e.issues[0].path === "database.postgres.ws_proxy",
  );
  assert.throws(
    () => settings("postgres://u@h/db?driver=neon&sslmode=verify-full&sslrootcert=/etc/ca.pem&sslkey=k"),
    (e: ConfigError) => e.issues.map((i) => i.path).join() === "database.postgres.sslrootcert,database.postgres.sslkey",
  );
});

Deno.test("neon: application_name and statement_timeout reach the server; info reports pid and plaintext ws", async () => {
  const app = appName("neon");
  await using db = neonDb({ application_name: app, statement_timeout: "150ms", pool_max: 1 });
  const { rows: [row] } = await db.query(
    "SELECT current_setting('application_name') AS app, current_setting('statement_timeout') AS st, pg_backend_pid() AS pid",
  );
  assert.deepEqual([row.app, row.st], [app, "150ms"]);
  const err = await db.query("SELECT pg_sleep(2)").catch((e) => e);
  assert.ok(err instanceof QueryError);
  assert.equal(err.code, "57014");
  const health = await db.health();
  assert.equal(health.status, "healthy");
  assert.equal(health.tls?.enabled, false);
  assert.equal(await backends(sql, app), 1);
});

Deno.test("neon: a terminated backend fails the statement in flight with a connection error; the next one reconnects", async () => {
  const app = appName("neon_kill");
  await using db = neonDb({ application_name: app, pool_max: 1 });
  const pid = (await db.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0].pid;
  const inflight = db.query("SELECT pg_sleep(5)").catch((e) => e);
  await waitFor(async () =>
    (await sql`SELECT 1 FROM pg_stat_activity WHERE pid = ${pid} AND state = 'active'`).length > 0
  );
  await sql`SELECT pg_terminate_backend(${pid})`;
  const err = await inflight;
  assert.ok(err instanceof DatabaseConnectionError, String(err));
  assert.equal(err.reachedServer, true, "a statement that was sent is never reported as safe to resend");
  await waitFor(() => db.stats().total === 0, 5_000, "the dead connection to leave the pool");
  const { rows: [again] } = await db.query("SELECT pg_backend_pid() AS pid");
  assert.notEqual(again.pid, pid);
});

Deno.test("neon: a proxy that refuses the database address fails the connect with a DatabaseConnectionError", async () => {
  await using db = neonDb({ host: "db.example.invalid", connect_timeout: "1s", pool_acquire_timeout: "300ms" });
  const err = await db.query("SELECT 1").catch((e) => e);
  assert.ok(err instanceof DatabaseConnectionError, String(err));
  assert.match(err.message, /db\.example\.invalid:5432.*403/);
  assert.equal((db as unknown as { proxy: { refused: number } }).proxy.refused >= 1, true);
});

Deno.test("neon: a proxy that never answers: each attempt ends at connect_timeout, nothing leaks", async () => {
  await using silent = silentServer();
  await using db = neonDb({
    ws_proxy: `${silent.host}:${silent.port}/v2`,
    connect_timeout: "200ms",
    pool_acquire_timeout: "700ms",
  });
  const err = await db.query("SELECT 1").catch((e) => e);
  assert.ok(err instanceof DatabaseConnectionError, String(err));
  assert.match(err.message, /timed out|timeout/i);
  // The pool's retry timer (pool_min) tries again, each attempt abandoned at connect_timeout.
  await waitFor(() => silent.accepted >= 2, 3000, "a second attempt");
});
