// Fault scenario 5: a listener that accepts TCP and never speaks, and one that accepts and closes at once.
// connect_timeout (or the close itself) ends the attempt with a clear error, and the pool does not redial in a
// tight loop: the listeners count every connection. Also: TCP keepalives are applied (or not) as configured.
import assert from "node:assert/strict";
import { createDriver } from "../adapters/postgres.ts";
import { getConnection } from "../mod.ts";
import { DatabaseConnectionError, PoolTimeoutError } from "../src/errors.ts";
import { closingServer, type FakeServer, silentServer } from "./helpers/net.ts";
import { appName, testDb } from "./helpers/db.ts";
import { settleWithin, sleep } from "./_faults.ts";

function connectTo(srv: FakeServer, settings: Record<string, unknown> = {}) {
  return getConnection({
    postgres: {
      host: srv.host,
      port: srv.port,
      dbname: "app",
      user: "app",
      connect_timeout: "300ms",
      health_check_interval: 0,
      ...settings,
    },
  }, { driver: createDriver, logger: false });
}

Deno.test("a server that accepts and never answers: connect_timeout ends the attempt, no tight redial", async () => {
  await using srv = silentServer();
  const t0 = performance.now();
  const err = await settleWithin(connectTo(srv), 5000, "getConnection").then(() => undefined, (e) => e);
  const took = performance.now() - t0;
  assert.ok(err instanceof DatabaseConnectionError, String(err));
  assert.equal(err.code, "CONNECT_TIMEOUT");
  assert.ok(err.retryable);
  assert.match(err.message, new RegExp(`connect_timeout: ${srv.host}:${srv.port} did not answer within 300 ms`));
  assert.ok(took >= 280 && took < 3000, `failed after ${Math.round(took)} ms`);
  assert.equal(srv.accepted, 1, "one attempt, one connection");
  await sleep(50);
  assert.equal(srv.open, 0, "the abandoned attempt's socket was closed");
});

Deno.test("a server that accepts and closes at once: a clear error at once, and a pool that backs off", async () => {
  await using srv = closingServer();
  // disable: postgres.js meets the close (and would redial); prefer: our TLS request meets it first.
  for (
    const [sslmode, said] of [["disable", /closed the connection during startup/], ["prefer", /TLS request/]] as const
  ) {
    const before = srv.accepted;
    const t0 = performance.now();
    const err = await settleWithin(connectTo(srv, { sslmode }), 5000, "getConnection").then(() => undefined, (e) => e);
    assert.ok(err instanceof DatabaseConnectionError, String(err));
    assert.equal(err.code, "CONNECTION_CLOSED");
    assert.ok(err.retryable);
    assert.match(err.message, new RegExp(`${srv.host}:${srv.port}.*closed the connection`));
    assert.match(err.message, said);
    assert.ok(performance.now() - t0 < 300, "no need to wait for connect_timeout");
    assert.equal(srv.accepted - before, 1, "one connection: postgres.js's silent redial was refused");
  }

  // A pool left running against it keeps pool_min wanted: it retries with backoff, not ~400 times a second.
  await using db = testDb(
    {
      host: srv.host,
      port: srv.port,
      sslmode: "disable",
      pool_min: 2,
      pool_acquire_timeout: "5s",
      connect_timeout: "300ms",
    },
    {},
  );
  const retries: number[] = [];
  db.on("reconnecting", (e) => retries.push(e.detail.delayMs));
  const before = srv.accepted;
  // No connection and the attempts failed: the caller hears it at once, not after pool_acquire_timeout.
  const t1 = performance.now();
  const queryErr = await db.query("SELECT 1").catch((e) => e);
  assert.ok(queryErr instanceof DatabaseConnectionError && !(queryErr instanceof PoolTimeoutError), String(queryErr));
  assert.ok(performance.now() - t1 < 1000, `failed after ${Math.round(performance.now() - t1)} ms`);
  assert.ok(queryErr.retryable && !queryErr.reachedServer);
  assert.match(queryErr.message, /unreachable since .*closed the connection during startup/);
  await sleep(1500);
  const dials = srv.accepted - before;
  console.log(`closing server: ${dials} connections in ~1.7 s, backoff delays ${retries.join(", ")} ms`);
  assert.ok(dials >= 2 && dials < 40, `${dials} connections in ~1.7 s`);
  assert.ok(retries.length >= 2);
  await db.close();
  const after = srv.accepted;
  await sleep(300);
  assert.equal(srv.accepted, after, "no attempt after close()");
});

Deno.test("a silent server behind a waiting caller: PoolTimeoutError, then CONNECT_TIMEOUT as the cause", async () => {
  await using srv = silentServer();
  await using db = testDb({ host: srv.host, port: srv.port, pool_acquire_timeout: "150ms", connect_timeout: "400ms" });
  const first = await db.query("SELECT 1").catch((e) => e);
  // The first attempt is still running when the caller's wait ends.
  assert.ok(first instanceof PoolTimeoutError, String(first));
  await sleep(400);
  // A pool that never connected turns the caller away at once while no attempt runs, or times its wait out while
  // the next one does: either way a retryable error naming the server and the connect timeout.
  const second = await db.query("SELECT 1").catch((e) => e);
  assert.ok(second instanceof DatabaseConnectionError && second.retryable, String(second));
  assert.match(second.message, /unreachable since .*CONNECT_TIMEOUT|connect_timeout/);
  assert.ok(srv.accepted <= 4, `${srv.accepted} connections`);
});

Deno.test("TCP keepalives are on by default with keepalives_idle, off with keepalives: false", async () => {
  for (const keepalives of [true, false]) {
    await using db = testDb({ application_name: appName("ka"), keepalives, keepalives_idle: "7s" });
    const [{ port }] = (await db.query("SELECT inet_client_port() AS port")).rows as { port: number }[];
    const ss = new Deno.Command("ss", { args: ["-tnoH", "state", "established", `( sport = :${port} )`] });
    const out = new TextDecoder().decode((await ss.output()).stdout);
    assert.match(out, new RegExp(`:${port}\\s`), "found our socket");
    assert.equal(/timer:\(keepalive,/.test(out), keepalives, out);
  }
});
