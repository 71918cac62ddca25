// Failover against real servers: a primary and its streaming standby as a host list with
// target_session_attrs=read-write; the primary stops, the standby is promoted, writers carry on.
import assert from "node:assert/strict";
import { createDriver } from "../adapters/postgres.ts";
import { DatabaseConnection } from "../mod.ts";
import { DatabaseConnectionError } from "../src/errors.ts";
import type { DatabaseEventMap } from "../src/events.ts";
import { startCluster } from "./helpers/cluster.ts";
import { waitFor } from "./helpers/db.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("failover: stop the primary, promote the standby; writes resume, none lost or applied twice", async () => {
  await using primary = await startCluster();
  await using standby = await primary.basebackupReplica();
  // Synchronous replication: a commit is acknowledged only once the standby has it, so an acknowledged
  // write must survive the failover whatever the shutdown mode.
  await primary.psql("ALTER SYSTEM SET synchronous_standby_names = '*'");
  await primary.reload();
  await primary.psql("CREATE TABLE writes (id int NOT NULL, writer int NOT NULL)"); // no key: a double shows up
  await waitFor(async () => (await primary.psql("SELECT sync_state FROM pg_stat_replication")) === "sync");

  const p = primary.port;
  const s = standby.port;
  await using db = new DatabaseConnection({
    postgres: {
      host: ["127.0.0.1", "127.0.0.1"],
      port: [p, s],
      dbname: "postgres",
      user: "postgres",
      target_session_attrs: "read-write",
      pool_min: 2,
      pool_max: 4,
      connect_timeout: "2s",
      health_check_interval: 0,
      close_timeout: "1s",
    },
  }, { driver: createDriver, logger: false });
  const failovers: DatabaseEventMap["failover"][] = [];
  const reconnected: DatabaseEventMap["reconnected"][] = [];
  db.on("failover", (e) => failovers.push(e.detail));
  db.on("reconnected", (e) => reconnected.push(e.detail));
  await db.validateConnection();
  assert.equal((await db.health()).server, `127.0.0.1:${p}`);

  const acked = new Set<number>();
  const unknown: DatabaseConnectionError[] = [];
  const unknownIds = new Set<number>();
  const unsent = new Set<number>();
  const unexpected: unknown[] = [];
  const successes: number[] = []; // performance.now() of each acknowledged write
  let nextId = 1;
  let running = true;
  const writer = async (w: number) => {
    while (running) {
      const id = nextId++;
      try {
        await db.query("INSERT INTO writes (id, writer) VALUES ($1, $2)", [id, w]);
        acked.add(id);
        successes.push(performance.now());
        await sleep(2);
      } catch (error) {
        if (!(error instanceof DatabaseConnectionError)) unexpected.push(error);
        else if (error.reachedServer) {
          unknown.push(error);
          unknownIds.add(id);
        } else {
          unsent.add(id);
          if (Deno.env.get("DBG9")) console.log("unsent", error.code, error.message);
        }
        await sleep(10);
      }
    }
  };
  const writers = Promise.all([1, 2, 3, 4].map(writer));

  await sleep(400);
  const beforeStop = acked.size;
  const stoppedAt = performance.now();
  await primary.stop("fast");
  await sleep(300); // no primary at all for a while
  const promoteAt = performance.now();
  await standby.promote();
  const promotedAt = performance.now();
  await waitFor(() => successes.some((t) => t > promotedAt), 10_000, "a write on the new primary");
  const firstWrite = successes.find((t) => t > promotedAt)!;
  await sleep(400);
  running = false;
  await writers;

  const resumeAfterPromoted = firstWrite - promotedAt;
  const resumeAfterPromoteCall = firstWrite - promoteAt;
  const outage = firstWrite - stoppedAt;
  console.log(
    `failover: writes resumed ${resumeAfterPromoted.toFixed(0)} ms after promote completed ` +
      `(${resumeAfterPromoteCall.toFixed(0)} ms after pg_ctl promote started; ${outage.toFixed(0)} ms ` +
      `after the primary began stopping); ${acked.size} acknowledged, ${unknown.length} unknown, ` +
      `${unsent.size} refused before sending`,
  );
  assert.deepEqual(unexpected, []);
  assert.ok(resumeAfterPromoted < 2000, `writes resumed ${resumeAfterPromoted} ms after promote`);
  assert.ok(beforeStop > 10 && acked.size > beforeStop + 10, `acked ${beforeStop} then ${acked.size}`);

  // Every outcome checked on the new primary.
  const rows = (await standby.psql("SELECT id || ':' || count(*) FROM writes GROUP BY id")).split("\n").filter(Boolean);
  const applied = new Map(rows.map((r) => r.split(":").map(Number) as [number, number]));
  const doubles = [...applied].filter(([, n]) => n > 1);
  assert.deepEqual(doubles, [], "no write applied twice");
  const lost = [...acked].filter((id) => !applied.has(id));
  assert.deepEqual(lost, [], "no acknowledged write lost");
  for (const id of unsent) assert.ok(!applied.has(id), `write ${id} reported as never sent, yet applied`);
  for (const id of applied.keys()) {
    assert.ok(acked.has(id) || unknownIds.has(id), `write ${id} applied but reported neither done nor unknown`);
  }
  // A write cut off in flight is reported, never retried behind the caller's back.
  for (const e of unknown) {
    assert.equal(typeof e.retryable, "boolean");
    assert.ok(e.code, e.message);
  }

  assert.equal(failovers.length, 1, JSON.stringify(failovers));
  assert.equal(failovers[0].from, `127.0.0.1:${p}`);
  assert.equal(failovers[0].to, `127.0.0.1:${s}`);
  assert.match(failovers[0].reason, new RegExp(`127\\.0\\.0\\.1:${p}\\b`)); // what the old primary said
  assert.ok(reconnected.length >= 1, "reconnected emitted");
  const health = await db.health();
  assert.equal(health.status, "healthy");
  assert.equal(health.server, `127.0.0.1:${s}`);
  assert.equal(health.lastFailover?.to, `127.0.0.1:${s}`);
  assert.equal(health.lastFailover?.from, `127.0.0.1:${p}`);
});
