// Fault scenarios 1 and 2 on a throwaway cluster: a restart under load, and a server down for 3 s.
import assert from "node:assert/strict";
import { PoolTimeoutError } from "../src/errors.ts";
import type { DatabaseEventMap } from "../src/events.ts";
import { startCluster } from "./helpers/cluster.ts";
import { admin, appName, testDb, waitFor } from "./helpers/db.ts";
import {
  assertNoLeak,
  Hung,
  idsWrittenOnce,
  isCommitInDoubt,
  isRetryableConnectionError,
  readyAt,
  settleWithin,
  sleep,
} from "./_faults.ts";

const pg = await startCluster();
const url = pg.url("postgres");
/** A fresh admin client: one made before a restart would answer its first query with a stale error. */
async function withAdmin<T>(fn: (sql: ReturnType<typeof admin>) => Promise<T>): Promise<T> {
  const sql = admin(url);
  try {
    return await fn(sql);
  } finally {
    await sql.end();
  }
}

Deno.test("restart (pg_ctl restart -m fast) under 32 callers: only retryable errors, exact inserts, quick recovery", async () => {
  const name = appName("restart");
  const table = "restart_rows";
  await withAdmin((sql) => sql.unsafe(`CREATE TABLE ${table} (id int NOT NULL, via text NOT NULL)`));
  await using db = testDb({ pool_min: 4, pool_max: 10, application_name: name, pool_acquire_timeout: "5s" }, {}, url);
  await db.validateConnection();

  const inserted = new Set<number>(); // reported as committed
  const inDoubt = new Set<number>(); // failed after the statement may have been sent
  const unexpected: unknown[] = [];
  const successes: number[] = []; // completion times
  let calls = 0;
  let failures = 0;
  let commitsInDoubt = 0;
  let nextId = 1;
  let stop = false;

  const op = async (caller: number, i: number) => {
    const id = nextId++;
    switch ((caller + i) % 4) {
      case 0:
        await db.query("SELECT count(*) FROM pg_class");
        return;
      case 1:
        try {
          await db.query(`INSERT INTO ${table} (id, via) VALUES ($1, 'query')`, [id]);
        } catch (e) {
          inDoubt.add(id);
          throw e;
        }
        inserted.add(id);
        return;
      case 2:
        try {
          // verifyCommit settles a COMMIT lost in flight with txid_status(): success or a retryable rollback.
          await db.getSession(async (s) => {
            await s.query(`INSERT INTO ${table} (id, via) VALUES ($1, 'session')`, [id]);
            await s.query("SELECT pg_backend_pid()");
          }, { verifyCommit: true });
        } catch (e) {
          inDoubt.add(id);
          throw e;
        }
        inserted.add(id);
        return;
      default:
        await db.getSession(async (s) => void await s.query("SELECT 1"), { readOnly: true, verifyCommit: true });
    }
  };
  const caller = async (c: number) => {
    for (let i = 0; !stop; i++) {
      calls++;
      try {
        await settleWithin(op(c, i), 15_000, `caller ${c} call ${i}`);
        successes.push(performance.now());
      } catch (e) {
        failures++;
        // With verifyCommit no COMMIT stays in doubt: each is settled as committed or rolled back.
        if (isCommitInDoubt(e)) commitsInDoubt++;
        if (!isRetryableConnectionError(e) || e instanceof Hung) unexpected.push(e);
        await sleep(5); // a failing caller does not spin
      }
    }
  };

  const callers = Array.from({ length: 32 }, (_, c) => caller(c));
  await sleep(700);
  const before = calls;
  await pg.stop("fast");
  const stopped = performance.now();
  const ready = readyAt(pg.dataDir);
  await pg.start();
  const up = await ready; // the postmaster accepts connections from here on
  await sleep(1500);
  stop = true;
  await Promise.all(callers);

  const firstAfter = successes.filter((t) => t > stopped).sort((a, b) => a - b)[0];
  const recovery = firstAfter - up;
  console.log(
    `restart: ${calls} calls (${before} before the restart), ${failures} failed (${commitsInDoubt} COMMITs in doubt); server down ${
      Math.round(up - stopped)
    } ms; first success ${Math.round(recovery)} ms after it accepted connections`,
  );
  assert.deepEqual(
    unexpected.map((e) => `${e} <- ${(e as Error).cause}`),
    [],
    "every failure is a retryable DatabaseConnectionError",
  );
  assert.ok(before > 100, `work ran before the restart (${before} calls)`);
  assert.ok(firstAfter !== undefined, "work succeeded again after the restart");
  assert.ok(recovery < 5000, `recovered ${Math.round(recovery)} ms after the server came back`);

  await withAdmin(async (sql) => {
    const present = await idsWrittenOnce(sql, table);
    const missing = [...inserted].filter((id) => !present.has(id));
    const extra = [...present].filter((id) => !inserted.has(id));
    assert.deepEqual(missing, [], "an insert reported as committed is missing");
    assert.ok(extra.every((id) => inDoubt.has(id)), "a row nobody inserted");
    assert.deepEqual(extra, [], "an insert that failed was committed after all");
    assert.ok(inserted.size > 50, `${inserted.size} inserts succeeded`);
    await assertNoLeak(db, sql, name);
  });
});

Deno.test("server down 3 s: callers wait pool_acquire_timeout and fail naming since when; one timer probes; pool_min comes back", async () => {
  const name = appName("down");
  await using db = testDb(
    {
      pool_min: 3,
      pool_max: 5,
      application_name: name,
      pool_acquire_timeout: "500ms",
      reconnect_backoff_max: "1s",
    },
    {},
    url,
  );
  const events: { [K in keyof DatabaseEventMap]?: DatabaseEventMap[K][] } = {};
  for (const type of ["reconnecting", "reconnected", "disconnect"] as const) {
    db.on(type, (e) => ((events[type] ??= []) as unknown[]).push(e.detail));
  }
  await db.validateConnection();
  await waitFor(() => db.stats().total === 3, 5000, "pool_min");

  await pg.stop("fast");
  const down = Date.now();
  const failuresBefore = db.stats().connectFailures;
  // Callers keep arriving for 3 s; each waits pool_acquire_timeout (the server may come back) and fails saying since when.
  const waits: Promise<void>[] = [];
  const unreachable = /unreachable since (\S+Z)/;
  for (let t = 0; t < 3000; t += 100) {
    for (const kind of ["query", "session"] as const) {
      waits.push((async () => {
        const t0 = performance.now();
        const p: Promise<unknown> = kind === "query" ? db.query("SELECT 1") : db.getSession(async () => {});
        const err = await settleWithin(p, 6000, kind).then(() => undefined, (e) => e);
        const took = performance.now() - t0;
        assert.ok(err instanceof PoolTimeoutError, `${kind}: ${err}`);
        assert.ok(took < 500 + 400, `${kind} failed after ${Math.round(took)} ms`);
        const since = Date.parse(unreachable.exec(err.message)?.[1] ?? "");
        assert.ok(Math.abs(since - down) < 2000, `${err.message} (down at ${new Date(down).toISOString()})`);
        assert.ok(err.retryable && !err.reachedServer);
      })());
    }
    await sleep(100);
  }
  await Promise.all(waits);
  const attempts = db.stats().connectFailures - failuresBefore;

  await pg.start();
  const up = performance.now();
  await waitFor(() => db.stats().total === 3, 10_000, "pool_min restored without any caller");
  const restored = performance.now() - up;
  console.log(
    `down 3 s, 60 callers: ${attempts} connection attempts failed; pool_min restored ${
      Math.round(restored)
    } ms after start`,
  );

  // One timer probes, at a pace that follows the outage's age; the 60 callers added none.
  assert.ok(attempts >= 3 && attempts < 30, `${attempts} failed attempts in 3 s`);
  const reconnecting = events.reconnecting ?? [];
  assert.ok(reconnecting.length > 0);
  for (const r of reconnecting) {
    assert.ok(r.delayMs >= 50 && r.delayMs <= 1000, JSON.stringify(r));
    assert.equal(Date.parse(r.downSince) > 0, true);
  }
  const [reconnected] = events.reconnected ?? [];
  assert.ok(reconnected && reconnected.downtimeMs >= 2900, JSON.stringify(events.reconnected));
  assert.ok((events.disconnect ?? []).some((d) => d.reason === "error"), "the dead connections were discarded");

  assert.deepEqual((await db.query("SELECT 1 AS ok")).rows, [{ ok: 1 }]);
  const health = await db.health();
  assert.equal(health.status, "healthy");
  await withAdmin((sql) => assertNoLeak(db, sql, name));
});

Deno.test("teardown", async () => {
  await pg.destroy();
});
