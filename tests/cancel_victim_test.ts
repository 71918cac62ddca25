// A timeout must never cancel another caller's statement. PostgreSQL's CancelRequest names a backend, not a
// statement: sent as a statement finishes, it lands on whatever the backend runs next. These tests race timeouts
// against statements that end around their deadline, on a small pool, with untimed statements on the same
// connections (shared, leased, in sessions, and the same lease right after a timed one), and check that no
// statement gets 57014 unless its own timer fired (which surfaces as QueryCancelledError, never as a bare 57014).
import assert from "node:assert/strict";
import type { DatabaseConnectionBase } from "../src/database.ts";
import { QueryCancelledError } from "../src/errors.ts";
import { appName, testDb } from "./helpers/db.ts";
import { neonDb } from "./helpers/neon.ts";

interface Tally {
  timed: number;
  timedOk: number;
  own: Record<string, number>;
  untimedOk: number;
  victims: string[];
  unexpected: string[];
}

/** Runs timed and untimed statements side by side until `timedTarget` timed ones have finished. */
async function race(db: DatabaseConnectionBase, timedTarget: number, timedLoops: number): Promise<Tally> {
  const t: Tally = { timed: 0, timedOk: 0, own: {}, untimedOk: 0, victims: [], unexpected: [] };
  const judge = (error: unknown, timed: boolean, what: string) => {
    if (timed && error instanceof QueryCancelledError) {
      const k = `${error.phase}${error.reachedServer ? ", reached the server" : ""}`;
      t.own[k] = (t.own[k] ?? 0) + 1;
    } else if ((error as { code?: unknown })?.code === "57014") t.victims.push(`${what}: ${error}`);
    else t.unexpected.push(`${what}: ${error}`);
  };
  // Timers of 4 ms against statements of 1-7 ms: about half end just before their deadline, half just after.
  const timedSql = () => `SELECT pg_sleep(${(0.001 + Math.random() * 0.006).toFixed(4)})`;
  const more = () => t.timed < timedTarget;
  const timedLoop = async () => {
    while (more()) {
      t.timed++;
      try {
        await db.query(timedSql(), [], { timeout: 4 });
        t.timedOk++;
      } catch (e) {
        judge(e, true, "timed");
      }
    }
  };
  const untimed = async (what: string, run: () => Promise<unknown>) => {
    while (more()) {
      try {
        await run();
        t.untimedOk++;
      } catch (e) {
        judge(e, false, what);
      }
    }
  };
  // On one lease: a timed statement, then at once an untimed one on the same connection.
  const sameLease = async () => {
    while (more()) {
      await using conn = await db.engine.connect();
      t.timed++;
      try {
        await conn.query(timedSql(), [], { timeout: 4 });
        t.timedOk++;
      } catch (e) {
        judge(e, true, "timed on a lease");
      }
      try {
        await conn.query("SELECT pg_sleep(0.003)");
        t.untimedOk++;
      } catch (e) {
        judge(e, false, "untimed on the same lease");
      }
    }
  };
  await Promise.all([
    ...Array.from({ length: timedLoops }, timedLoop),
    sameLease(),
    untimed("shared", () => db.query("SELECT pg_sleep(0.003)")),
    untimed("session", () => db.getSession((s) => s.query("SELECT pg_sleep(0.003)"))),
  ]);
  return t;
}

function check(name: string, t: Tally, timedTarget: number): void {
  console.log(`${name}: ${JSON.stringify({ ...t, victims: t.victims.length, unexpected: t.unexpected.length })}`);
  assert.ok(t.timed >= timedTarget);
  assert.deepEqual(t.victims, [], "statements cancelled though their own timer had not fired");
  assert.deepEqual(t.unexpected, []);
  // The race was run both ways: timers that caught their statement on the server, statements that beat their timer
  // (how many of each depends on the machine's load).
  assert.ok((t.own["running, reached the server"] ?? 0) >= 5, "cancelled on the server");
  assert.ok(t.timedOk >= 5, "finished before the deadline");
  assert.ok(t.untimedOk > 0);
}

Deno.test("postgres: 2,000 timeouts racing their statements on 3 connections never cancel another statement", async () => {
  await using db = testDb({ pool_max: 3, application_name: appName("victim") });
  const t = await race(db, 2000, 3);
  check("postgres", t, 2000);
  // A cancel whose outcome is known leaves its connection reusable.
  assert.ok(db.stats().opened <= 4, `${db.stats().opened} connections opened`);
});

Deno.test("neon: timeouts racing their statements over WebSocket never cancel another statement", async () => {
  await using db = neonDb({ pool_max: 2, application_name: appName("victim_neon") });
  const t = await race(db, 300, 1);
  check("neon", t, 300);
});
