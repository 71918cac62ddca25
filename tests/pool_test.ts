// Unit tests of the pool over a fake driver: fast and deterministic, no server.
import assert from "node:assert/strict";
import { DatabaseConnectionError, PoolTimeoutError } from "../src/errors.ts";
import { Emitter } from "../src/events.ts";
import { Pool, type PoolOptions } from "../src/pool.ts";
import { FakeDriver } from "./helpers/fake_driver.ts";
import { DatabaseConnection } from "../mod.ts";
import type { DatabaseConfig } from "../src/config/types.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function makePool(driver: FakeDriver, options: Partial<PoolOptions> = {}, events = new Emitter()): Pool {
  const config = {} as DatabaseConfig;
  return new Pool(
    {
      min: 0,
      max: 4,
      acquireTimeout: 200,
      idleTimeout: 0,
      maxLifetime: 0,
      prePing: false,
      leakThreshold: 0,
      backoffBase: 5,
      backoffMax: 20,
      label: "fake:5432",
      ...options,
    },
    (signal, onClose) => driver.connect({ config, host: "fake", port: 5432, signal, onClose }),
    events,
  );
}

async function until(cond: () => boolean, ms = 1000): Promise<void> {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) throw new Error("condition not reached");
    await sleep(1);
  }
}

Deno.test("pool opens pool_min connections at start", async () => {
  const driver = new FakeDriver();
  const pool = makePool(driver, { min: 3 });
  pool.start();
  await until(() => pool.slots.length === 3);
  assert.equal(driver.opened, 3);
  await pool.close(100);
  assert.equal(driver.open.size, 0);
});

Deno.test("pool_max is never exceeded under 200 concurrent callers, served first come first served", async () => {
  const driver = new FakeDriver();
  driver.connectDelay = 2;
  const pool = makePool(driver, { max: 5, acquireTimeout: 5000 });
  pool.start();
  const order: number[] = [];
  let concurrent = 0;
  let peak = 0;
  await Promise.all(Array.from({ length: 200 }, async (_, i) => {
    const lease = await pool.acquire();
    order.push(i);
    concurrent++;
    peak = Math.max(peak, concurrent);
    await lease.query("SELECT 1");
    concurrent--;
    await lease.release();
  }));
  assert.ok(peak <= 5, `peak ${peak}`);
  assert.ok(driver.peak <= 5, `driver peak ${driver.peak}`);
  // FIFO: once everyone queued, each caller is served in arrival order.
  const queued = order.slice(5);
  assert.deepEqual(queued, [...queued].sort((a, b) => a - b));
  assert.equal(pool.stats().checkouts, 200);
  await pool.close(100);
});

Deno.test("a wait longer than pool_acquire_timeout ends with PoolTimeoutError naming the counts", async () => {
  const driver = new FakeDriver();
  const pool = makePool(driver, { max: 1, acquireTimeout: 30 });
  const held = await pool.acquire();
  const err = await pool.acquire().then(() => undefined, (e) => e);
  assert.ok(err instanceof PoolTimeoutError);
  assert.ok(err instanceof DatabaseConnectionError);
  assert.equal(err.inUse, 1);
  assert.equal(err.max, 1);
  assert.match(err.message, /1 of 1 in use/);
  assert.equal(pool.stats().timeouts, 1);
  await held.release();
  await pool.close(100);
});

Deno.test("pre-ping replaces a dead idle connection without the caller seeing an error", async () => {
  const driver = new FakeDriver();
  const events = new Emitter();
  const failed: unknown[] = [];
  events.on("validation-failed", (e) => failed.push(e.detail));
  const pool = makePool(driver, { prePing: 5 }, events);
  pool.start();
  const first = await pool.acquire();
  const firstId = first.slot.id;
  await first.release();
  await sleep(40); // idle past the threshold, as stamped by housekeeping ticks
  // Dead on the server, but the client has not noticed: the ping finds out.
  driver.failures.push({ match: /^SELECT 1$/, code: "57P01", connection: true });
  const lease = await pool.acquire().catch((e) => e);
  driver.failures.length = 0;
  assert.ok(!(lease instanceof Error), String(lease));
  assert.notEqual(lease.slot.id, firstId);
  assert.equal(failed.length, 1);
  await lease.release();
  await pool.close(100);
});

Deno.test("pool_idle_timeout shrinks back to pool_min", async () => {
  const driver = new FakeDriver();
  const pool = makePool(driver, { min: 1, max: 4, idleTimeout: 20 });
  pool.start();
  const leases = await Promise.all([pool.acquire(), pool.acquire(), pool.acquire()]);
  assert.equal(pool.slots.length, 3);
  await Promise.all(leases.map((l) => l.release()));
  await until(() => pool.slots.length === 1, 500);
  await sleep(40);
  assert.equal(pool.slots.length, 1);
  await pool.close(100);
});

Deno.test("pool_max_lifetime retires connections, never while checked out", async () => {
  const driver = new FakeDriver();
  const pool = makePool(driver, { min: 1, maxLifetime: 20 });
  pool.start();
  const lease = await pool.acquire();
  const id = lease.slot.id;
  await sleep(60);
  assert.ok(!lease.slot.dead, "retired while leased");
  assert.equal((await lease.query("SELECT 1")).command, "SELECT");
  await lease.release();
  await until(() => pool.slots.length === 1 && pool.slots[0].id !== id);
  await pool.close(100);
});

Deno.test("a lease held past the leak threshold emits leak-suspected with the checkout stack", async () => {
  const driver = new FakeDriver();
  const events = new Emitter();
  const leaks: { id: number; heldMs: number; stack?: string }[] = [];
  events.on("leak-suspected", (e) => leaks.push(e.detail));
  const pool = makePool(driver, { leakThreshold: 15 }, events);
  pool.start();
  const lease = await pool.acquire();
  await until(() => leaks.length === 1);
  assert.ok(leaks[0].heldMs >= 15);
  assert.match(leaks[0].stack ?? "", /pool_test\.ts/);
  assert.equal(pool.stats().leases.length, 1);
  await lease.release();
  await pool.close(100);
});

Deno.test("a lease returned inside a transaction is rolled back; if that fails it is discarded", async () => {
  const driver = new FakeDriver();
  const pool = makePool(driver, { max: 1 });
  const a = await pool.acquire();
  a.inTransaction = true;
  await a.release();
  assert.equal(driver.calls.at(-1)?.text, "ROLLBACK");
  assert.equal(pool.slots.length, 1);
  const b = await pool.acquire();
  assert.equal(b.slot.id, a.slot.id);
  b.inTransaction = true;
  driver.failures.push({ match: /^ROLLBACK$/, code: "XX000" });
  await b.release();
  assert.equal(pool.slots.length, 0, "a connection that could not be rolled back must not be reused");
  await pool.close(100);
});

Deno.test("shared dispatch pipelines on the least-loaded connection and grows to pool_max", async () => {
  const driver = new FakeDriver();
  driver.queryDelay = 2;
  const pool = makePool(driver, { max: 3, acquireTimeout: 1000 });
  pool.start();
  const run = async () => {
    const slot = pool.pick() ?? await pool.waitShared();
    try {
      return await pool.run(slot, "SELECT 1");
    } finally {
      pool.done(slot);
    }
  };
  await Promise.all(Array.from({ length: 60 }, run));
  assert.equal(pool.slots.length, 3);
  const perConn = new Map<number, number>();
  for (const c of driver.calls) perConn.set(c.conn, (perConn.get(c.conn) ?? 0) + 1);
  assert.equal(perConn.size, 3);
  for (const n of perConn.values()) assert.ok(n >= 5, `unbalanced: ${[...perConn.values()]}`);
  await pool.close(100);
});

Deno.test("statements with only a row or type mode are pipelined like plain ones; a timeout takes a connection", async () => {
  const driver = new FakeDriver();
  driver.queryDelay = 2;
  await using db = new DatabaseConnection({ postgres: { host: "fake", pool_max: 1 } }, { driver, logger: false });
  await db.validateConnection();
  const mode = { rowMode: "array", types: "raw" } as const;
  await Promise.all(Array.from({ length: 8 }, () => db.query("SELECT 1", [], mode)));
  const moded = driver.calls.filter((c) => c.text === "SELECT 1");
  assert.equal(moded.length, 8);
  assert.deepEqual(moded.map((c) => c.mode), Array(8).fill(mode), "the mode reaches the driver");
  assert.equal(Math.max(...moded.map((c) => c.inflight)), 8, "all eight in flight on the one connection");
  await Promise.all(Array.from({ length: 3 }, () => db.query("SELECT 2", [], { ...mode, timeout: 1000 })));
  const timed = driver.calls.filter((c) => c.text === "SELECT 2");
  assert.equal(Math.max(...timed.map((c) => c.inflight)), 1, "a statement with a timeout holds its connection");
});

Deno.test("exclusive waiters are not starved by shared traffic", async () => {
  const driver = new FakeDriver();
  driver.queryDelay = 1;
  const pool = makePool(driver, { max: 1, acquireTimeout: 500 });
  pool.start();
  let stop = false;
  const shared = (async () => {
    while (!stop) {
      const batch = Array.from({ length: 4 }, async () => {
        const slot = pool.pick() ?? await pool.waitShared();
        try {
          await pool.run(slot, "SELECT 1");
        } finally {
          pool.done(slot);
        }
      });
      await Promise.all(batch);
    }
  })();
  await sleep(5);
  const lease = await pool.acquire();
  assert.equal(lease.slot.inflight, 0);
  stop = true;
  await lease.release();
  await shared;
  await pool.close(100);
});

Deno.test("a pool that never connected: callers fail at once naming since when, without dialing; the timer reconnects", async () => {
  const driver = new FakeDriver();
  const events = new Emitter();
  const reconnecting: number[] = [];
  let reconnected = 0;
  events.on("reconnecting", (e) => reconnecting.push(e.detail.delayMs));
  events.on("reconnected", () => reconnected++);
  const pool = makePool(driver, { min: 1, acquireTimeout: 10_000, backoffBase: 50, backoffMax: 5000 }, events);
  driver.connectError = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" });
  pool.start();
  // The caller waiting for the first attempt fails with it, at once, not after pool_acquire_timeout.
  const t0 = performance.now();
  const err = await pool.acquire().then(() => undefined, (e) => e);
  assert.ok(err instanceof DatabaseConnectionError && !(err instanceof PoolTimeoutError), String(err));
  assert.ok(performance.now() - t0 < 1000);
  assert.match(err.message, /server fake:5432 unreachable since \d{4}-\d\d-\d\dT.*ECONNREFUSED/);
  assert.deepEqual([err.code, err.retryable, err.reachedServer], ["ECONNREFUSED", true, false]);
  // 100 callers arriving while it is down fail at once and dial nothing.
  const dials = pool.stats().connectFailures;
  const turnedAway = await Promise.all(Array.from({ length: 100 }, () => pool.acquire().catch((e) => e)));
  assert.ok(turnedAway.every((e) => e instanceof DatabaseConnectionError && e.code === "ECONNREFUSED"));
  assert.ok(pool.stats().connectFailures - dials <= 1, "callers do not dial");
  // The server is back: the retry timer reconnects (pool_min), and callers are served again.
  driver.connectError = undefined;
  await until(() => pool.stats().total === 1, 2000);
  assert.equal(reconnected, 1);
  assert.equal(pool.downSince, undefined);
  assert.ok(reconnecting.length >= 1 && reconnecting.every((d) => d <= 5000));
  const lease = await pool.acquire();
  await lease.release();
  await pool.close(100);
});

Deno.test("a pool that was connected waits out an outage: callers do not dial, the timer serves them once it is over", async () => {
  const driver = new FakeDriver();
  const events = new Emitter();
  const pool = makePool(driver, { min: 1, acquireTimeout: 150, backoffBase: 10, backoffMax: 2000 }, events);
  pool.start();
  await until(() => pool.stats().total === 1);
  driver.connectError = Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" });
  driver.killAll();
  await until(() => pool.stats().connectFailures >= 1);
  // Longer than pool_acquire_timeout: PoolTimeoutError naming the outage.
  const err = await pool.acquire().then(() => undefined, (e) => e);
  assert.ok(err instanceof PoolTimeoutError, String(err));
  assert.match(err.message, /no connection within \d+ ms: server fake:5432 unreachable since \S+Z \(.*ECONNREFUSED/);
  // Fifty callers waiting at once add no attempt of their own.
  const before = pool.stats().connectFailures;
  const waiting = Array.from({ length: 50 }, () => pool.acquire().then((l) => l.release()));
  await sleep(20);
  assert.ok(pool.stats().connectFailures - before <= 1, "callers do not dial");
  driver.connectError = undefined; // back: the next attempt serves them all
  await Promise.all(waiting);
  assert.equal(pool.downSince, undefined);
  await pool.close(100);
});

Deno.test("an outage is probed by one timer at a pace that follows its age: ~20 attempts per 200 base steps", async () => {
  const driver = new FakeDriver();
  driver.connectError = Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" });
  // base 5 ms, 1 s: the same schedule as base 100 ms over 20 s (the pace is a fifth of the outage's age).
  const pool = makePool(driver, { min: 2, backoffBase: 5, backoffMax: 500 });
  pool.start();
  // Callers keep arriving the whole time (each is turned away): they do not add attempts.
  const end = performance.now() + 1000;
  while (performance.now() < end) {
    await pool.acquire().then((l) => l.release(), () => {});
    await sleep(2);
  }
  const attempts = pool.stats().connectFailures;
  assert.ok(attempts >= 8 && attempts <= 30, `${attempts} attempts`);
  await pool.close(100);
});

Deno.test("a full server (53300): the pool keeps serving on its connections, grows on a slow timer, never per caller", async () => {
  const driver = new FakeDriver();
  driver.queryDelay = 2;
  const events = new Emitter();
  const delays: number[] = [];
  events.on("reconnecting", (e) => delays.push(e.detail.delayMs));
  const pool = makePool(driver, { min: 1, max: 4, acquireTimeout: 5000, backoffBase: 5, backoffMax: 2000 }, events);
  pool.start();
  await until(() => pool.stats().total === 1);
  driver.connectError = new DatabaseConnectionError("could not connect to fake:5432: server full (53300)", {
    code: "53300",
    retryable: true,
    reachedServer: false,
  });
  // 300 leases over ~1 s: far more demand than one connection, so the pool wants to grow the whole time.
  let served = 0;
  const end = performance.now() + 1000;
  await Promise.all(Array.from({ length: 3 }, async () => {
    while (performance.now() < end) {
      const lease = await pool.acquire();
      await lease.query("SELECT 1");
      await lease.release();
      served++;
    }
  }));
  const attempts = pool.stats().connectFailures;
  assert.ok(served > 50, `served ${served} on the open connection`);
  assert.ok(attempts >= 1 && attempts <= 4, `${attempts} growth attempts in 1 s against a full server`);
  assert.ok(delays.every((d) => d >= 500), `growth delays ${delays.join(", ")} ms`);
  assert.ok(pool.fullSince !== undefined && pool.downSince === undefined);
  // A connection slot frees up on the server: the next growth attempt (on the timer) succeeds and the state clears.
  driver.connectError = undefined;
  const held = await pool.acquire();
  const second = await pool.acquire();
  assert.equal(pool.fullSince, undefined);
  assert.equal(pool.stats().total, 2);
  await held.release();
  await second.release();
  await pool.close(100);
});

Deno.test("a non-retryable connect failure (wrong password) fails waiters at once", async () => {
  const driver = new FakeDriver();
  const pool = makePool(driver, { acquireTimeout: 5000 });
  driver.connectError = new DatabaseConnectionError("password authentication failed", { code: "28P01" });
  const t = performance.now();
  const err = await pool.acquire().then(() => undefined, (e) => e);
  assert.ok(performance.now() - t < 1000);
  assert.equal(err?.code, "28P01");
  await pool.close(100);
});

Deno.test("killed connections are replaced up to pool_min in the background", async () => {
  const driver = new FakeDriver();
  const pool = makePool(driver, { min: 2 });
  pool.start();
  await until(() => pool.slots.length === 2);
  driver.killAll();
  await until(() => pool.slots.length === 2 && driver.opened === 4);
  await pool.close(100);
});

Deno.test("close waits for checked-out work, rejects waiters, and closes everything", async () => {
  const driver = new FakeDriver();
  const pool = makePool(driver, { max: 1, acquireTimeout: 1000 });
  const lease = await pool.acquire();
  const waiter = pool.acquire().then(() => "got", (e) => e);
  const closing = pool.close(1000);
  const err = await waiter;
  assert.ok(err instanceof DatabaseConnectionError);
  assert.equal(err.code, "POOL_CLOSED");
  await sleep(5);
  assert.equal(driver.open.size, 1, "closed while still checked out");
  await lease.release();
  await closing;
  assert.equal(driver.open.size, 0);
  await assert.rejects(pool.acquire(), DatabaseConnectionError);
});

Deno.test("close gives up waiting after its timeout", async () => {
  const driver = new FakeDriver();
  const pool = makePool(driver);
  const lease = await pool.acquire();
  const t = performance.now();
  await pool.close(20);
  assert.ok(performance.now() - t < 500);
  assert.equal(driver.open.size, 0);
  await lease.release();
});
