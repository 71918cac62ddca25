// Overload and outages without a storm: a server that is full (53300, too many connections) while this process
// holds some of its connections, and a Neon adapter whose WebSocket proxy is not running. The pool keeps serving on
// what it has, retries on one timer whose pace follows the outage's age (never per arriving caller), and says what
// is wrong: "full (53300)", or the proxy's address.
import assert from "node:assert/strict";
import postgres from "postgres";
import { DatabaseConnectionError, PoolTimeoutError } from "../src/errors.ts";
import { startCluster } from "./helpers/cluster.ts";
import { appName, testDb } from "./helpers/db.ts";
import { neonProxyDown } from "./helpers/neon.ts";
import { sleep } from "./_faults.ts";

Deno.test("a full server (53300): served on the open connections, growth retried slowly, errors say 'full (53300)'", async () => {
  await using pg = await startCluster({ settings: { max_connections: 6, superuser_reserved_connections: 0 } });
  // Another process holds 3 of the 6 slots.
  const other = postgres(pg.url("postgres"), { max: 3, idle_timeout: 0, onnotice: () => {} });
  await Promise.all([1, 2, 3].map(() => other`SELECT pg_sleep(0.05)`));
  const name = appName("full");
  await using db = testDb(
    { pool_min: 1, pool_max: 10, application_name: name, pool_acquire_timeout: "10s" },
    {},
    pg.url("postgres"),
  );
  await db.validateConnection();
  const delays: number[] = [];
  db.on("reconnecting", (e) => delays.push(e.detail.delayMs));
  // 12 callers in sessions for 4 s: the pool wants 10 connections and the server has 3 left.
  const start = performance.now();
  let served = 0;
  let openedAt = 0;
  const errors: string[] = [];
  await Promise.all(Array.from({ length: 12 }, async () => {
    while (performance.now() < start + 4000) {
      try {
        await db.getSession((s) => s.query("SELECT pg_sleep(0.01)"));
        served++;
      } catch (e) {
        errors.push(String(e));
      }
      // The pool is open once it holds what the server could give; from then on, count the refusals.
      if (!openedAt && performance.now() > start + 1000) openedAt = db.stats().connectFailures;
    }
  }));
  const stats = db.stats();
  const refusedPerSecond = (stats.connectFailures - openedAt) / 3;
  console.log(
    `full server: ${served} sessions on ${stats.total} connections in 4 s, ${openedAt} refused attempts while ` +
      `opening, then ${refusedPerSecond.toFixed(1)}/s; retry delays ${delays.join(", ")} ms`,
  );
  assert.deepEqual(errors, [], "every caller was served on the open connections");
  assert.equal(stats.total, 3);
  assert.ok(served > 100, `${served} sessions`);
  assert.ok(stats.connectFailures >= 1, "growth was tried");
  assert.ok(refusedPerSecond <= 2, `${stats.connectFailures - openedAt} refused attempts in 3 s once open`);

  // A caller that times out names the real cause: the server is full, not unreachable.
  await using short = testDb({ pool_min: 0, pool_max: 4, pool_acquire_timeout: "300ms" }, {}, pg.url("postgres"));
  const held = await Promise.all([db.getSession(), db.getSession(), db.getSession()]);
  const first = await short.query("SELECT 1").catch((e) => e);
  assert.ok(first instanceof DatabaseConnectionError, String(first));
  assert.equal(first.code, "53300");
  assert.match(first.message, /server full \(53300/);
  assert.doesNotMatch(first.message, /unreachable/);
  for (const s of held) await s.rollback();
  // And a PoolTimeoutError on a pool that has connections says full, with the counts.
  const timedOut = await (async () => {
    const sessions = await Promise.all([db.getSession(), db.getSession(), db.getSession()]);
    try {
      return await db.query("SELECT 1", [], { timeout: 100 }).catch((e) => e);
    } finally {
      for (const s of sessions) await s.rollback();
    }
  })();
  assert.equal(timedOut.code, "QUERY_TIMEOUT", String(timedOut));
  // Up, serving, but unable to grow: degraded, with the reason.
  const health = await db.health();
  assert.equal(health.status, "degraded");
  assert.match(health.lastError ?? "", /53300/);
  await other.end();
});

Deno.test("a full server: PoolTimeoutError names 'full (53300)' and the counts, not 'unreachable'", async () => {
  await using pg = await startCluster({ settings: { max_connections: 3, superuser_reserved_connections: 0 } });
  const other = postgres(pg.url("postgres"), { max: 2, idle_timeout: 0, onnotice: () => {} });
  await Promise.all([1, 2].map(() => other`SELECT pg_sleep(0.05)`));
  await using db = testDb({ pool_min: 1, pool_max: 3, pool_acquire_timeout: "400ms" }, {}, pg.url("postgres"));
  await db.validateConnection();
  const session = await db.getSession();
  const err = await db.query("SELECT 1").catch((e) => e); // wants a second connection: refused, then waits
  await session.rollback();
  assert.ok(err instanceof PoolTimeoutError, String(err));
  assert.match(err.message, /server 127\.0\.0\.1:\d+ full \(53300: too many connections\) since \S+Z/);
  assert.match(err.message, /1 of 3 in use/);
  assert.doesNotMatch(err.message, /unreachable/);
  await other.end();
});

Deno.test("neon with its WebSocket proxy down: errors name the proxy, callers fail at once, attempts back off", async () => {
  // base 10 ms over 2 s follows the same schedule as the default 100 ms over 20 s (the pace is a fifth of the
  // outage's age), where the target is at most 30 attempts.
  const { db: proxied, proxy } = neonProxyDown({
    pool_min: 1,
    reconnect_backoff_base: "10ms",
    reconnect_backoff_max: "10s",
  });
  await using db = proxied;
  const first = await db.validateConnection().catch((e) => e);
  assert.ok(first instanceof DatabaseConnectionError, String(first));
  assert.equal(first.code, "PROXY_UNREACHABLE");
  assert.ok(first.message.includes(`WebSocket proxy ws://${proxy} (ws_proxy) unreachable`), first.message);
  const attempts: number[] = [];
  db.on("reconnecting", (e) => attempts.push(e.detail.attempt));
  const end = performance.now() + 2000;
  let callers = 0;
  while (performance.now() < end) {
    const t0 = performance.now();
    const err = await db.query("SELECT 1").catch((e) => e);
    callers++;
    assert.ok(err instanceof DatabaseConnectionError && !(err instanceof PoolTimeoutError), String(err));
    assert.equal(err.code, "PROXY_UNREACHABLE");
    assert.match(err.message, /WebSocket proxy ws:\/\/127\.0\.0\.1:\d+\/v2 \(ws_proxy\) unreachable/);
    assert.ok(performance.now() - t0 < 500, `failed after ${Math.round(performance.now() - t0)} ms`);
    await sleep(5);
  }
  const failures = db.stats().connectFailures;
  console.log(`neon, proxy down: ${callers} callers in 2 s, ${failures} attempts (last attempt=${attempts.at(-1)})`);
  assert.ok(failures <= 30, `${failures} attempts`);
  assert.ok(callers > 100);
});
