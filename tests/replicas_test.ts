// Read replicas against a real streaming standby (pg_basebackup -R from a throwaway primary).
import assert from "node:assert/strict";
import type { DatabaseConnection } from "../mod.ts";
import type { DatabaseEventMap } from "../src/events.ts";
import { startCluster } from "./helpers/cluster.ts";
import { testDb, waitFor } from "./helpers/db.ts";
import { freePort } from "./helpers/net.ts";

const RECOVERY = "SELECT pg_is_in_recovery() AS standby, inet_server_port() AS port";

function failovers(db: DatabaseConnection): DatabaseEventMap["failover"][] {
  const seen: DatabaseEventMap["failover"][] = [];
  db.on("failover", (e) => seen.push(e.detail));
  return seen;
}

Deno.test("replicas: read-only work on a streaming standby, writes on the primary, lag bound, fallback", async (t) => {
  await using primary = await startCluster();
  await using standby = await primary.basebackupReplica();
  await primary.psql("CREATE TABLE items (id int PRIMARY KEY, v text)");
  const replica = `127.0.0.1:${standby.port}`;

  await t.step("readOnly queries and sessions land on the standby; writes on the primary", async () => {
    await using db = testDb({ replicas: [replica] }, {}, primary.url());
    const ro = await db.query(RECOVERY, [], { readOnly: true });
    assert.deepEqual(ro.rows, [{ standby: true, port: standby.port }]);
    const rw = await db.query(RECOVERY);
    assert.deepEqual(rw.rows, [{ standby: false, port: primary.port }]);

    await db.getSession(async (s) => {
      const { rows } = await s.query(RECOVERY);
      assert.deepEqual(rows, [{ standby: true, port: standby.port }]);
      // db.query inside the session's callback joins the session, on the standby.
      assert.equal((await db.query(RECOVERY)).rows[0].standby, true);
    }, { readOnly: true });

    const written = await db.getSession(async (s) => {
      await s.query("INSERT INTO items VALUES ($1, $2)", [1, "one"]);
      return (await s.query(RECOVERY)).rows[0];
    });
    assert.deepEqual(written, { standby: false, port: primary.port });
    await db.query("INSERT INTO items VALUES ($1, $2)", [2, "two"]);
    assert.equal(await primary.psql("SELECT count(*) FROM items"), "2");

    // What was written reaches the replica and is read there.
    await waitFor(
      async () => (await db.query("SELECT count(*)::int AS n FROM items", [], { readOnly: true })).rows[0].n === 2,
      5000,
      "replication of the writes",
    );
    // A write sent as read-only cannot slip through the replica.
    const err = await db.query("INSERT INTO items VALUES (3, 'x')", [], { readOnly: true }).catch((e) => e);
    assert.equal(err.code, "25006");
    const health = await db.health();
    assert.equal(health.replicas?.[0].status, "healthy");
    assert.equal(health.server, `127.0.0.1:${primary.port}`);
  });

  await t.step("a replica past max_replica_lag is skipped (replay paused), and used again once caught up", async () => {
    await using db = testDb({ replicas: [replica], max_replica_lag: "300ms" }, {}, primary.url());
    const events = failovers(db);
    assert.equal((await db.query(RECOVERY, [], { readOnly: true })).rows[0].standby, true);
    assert.equal(events.length, 0);

    await standby.psql("SELECT pg_wal_replay_pause()");
    try {
      await db.query("INSERT INTO items VALUES ($1, $2)", [10, "behind"]);
      await waitFor(
        async () => (await standby.psql("SELECT pg_last_wal_receive_lsn() > pg_last_wal_replay_lsn()")) === "t",
        5000,
        "WAL received but not replayed",
      );
      // The lag grows past 300 ms; the next check (every 150 ms at most) sees it.
      await waitFor(
        async () => (await db.query(RECOVERY, [], { readOnly: true })).rows[0].standby === false,
        5000,
        "read-only work moving to the primary",
      );
      const read = await db.query("SELECT v FROM items WHERE id = 10", [], { readOnly: true });
      assert.deepEqual(read.rows, [{ v: "behind" }], "the fallback read sees the fresh write");
      await db.getSession(async (s) => {
        assert.equal((await s.query(RECOVERY)).rows[0].standby, false);
      }, { readOnly: true });
      assert.equal(events.length, 1);
      assert.equal(events[0].from, replica);
      assert.equal(events[0].to, `127.0.0.1:${primary.port}`);
      assert.match(events[0].reason, /lag \d+ ms over max_replica_lag 300 ms/);
      const health = await db.health();
      assert.equal(health.status, "degraded");
      assert.equal(health.replicas?.[0].status, "degraded");
      assert.ok((health.replicas?.[0].lagMs ?? 0) > 300, JSON.stringify(health.replicas));
      assert.match(health.lastFailover?.reason ?? "", /replica skipped/);
    } finally {
      await standby.psql("SELECT pg_wal_replay_resume()");
    }
    await waitFor(
      async () => (await db.query(RECOVERY, [], { readOnly: true })).rows[0].standby === true,
      5000,
      "read-only work back on the standby",
    );
    assert.equal(events.length, 2);
    assert.equal(events[1].to, replica);
    assert.match(events[1].reason, /usable again \(lag \d+ ms\)/);
  });

  await t.step("an idle primary does not make a caught-up replica look behind", async () => {
    await using db = testDb({ replicas: [replica], max_replica_lag: "200ms" }, {}, primary.url());
    await db.query("INSERT INTO items VALUES ($1, $2)", [20, "last write"]);
    await new Promise((r) => setTimeout(r, 600)); // no writes for longer than the bound
    assert.equal((await db.query(RECOVERY, [], { readOnly: true })).rows[0].standby, true);
    assert.equal((await db.health()).replicas?.[0].lagMs, 0);
  });

  await t.step("a read-only statement whose replica connection breaks is re-run on the primary", async () => {
    await using db = testDb({ replicas: [replica], application_name: "dewey_ro_rerun" }, {}, primary.url());
    const events = failovers(db);
    assert.equal((await db.query(RECOVERY, [], { readOnly: true })).rows[0].standby, true);
    const read = db.query("SELECT pg_is_in_recovery() AS standby, pg_sleep(0.5)::text AS slept", [], {
      readOnly: true,
    });
    const mine = "FROM pg_stat_activity WHERE application_name = 'dewey_ro_rerun'";
    await waitFor(
      async () => (await standby.psql(`SELECT count(*) ${mine} AND query LIKE '%pg_sleep%'`)) === "1",
      5000,
      "the statement running on the standby",
    );
    await standby.psql(`SELECT pg_terminate_backend(pid) ${mine}`);
    assert.equal((await read).rows[0].standby, false);
    assert.equal(events.length, 1);
    assert.equal(events[0].from, replica);
    assert.match(events[0].reason, /replica skipped: .*(57P01|terminat|CONNECTION_CLOSED)/);
  });

  await t.step(
    "no healthy replica: read-only work falls back to the primary, and returns when it is back",
    async () => {
      await using db = testDb({ replicas: [replica] }, {}, primary.url());
      const events = failovers(db);
      assert.equal((await db.query(RECOVERY, [], { readOnly: true })).rows[0].standby, true);
      await standby.stop("fast");
      try {
        // The replica's connection breaks under the caller; the read is re-run on the primary.
        assert.equal((await db.query(RECOVERY, [], { readOnly: true })).rows[0].standby, false);
        assert.equal((await db.getSession((s) => s.query(RECOVERY), { readOnly: true })).rows[0].standby, false);
        assert.equal(events[0].from, replica);
        assert.match(events[0].reason, /replica skipped/);
        const health = await db.health();
        assert.notEqual(health.replicas?.[0].status, "healthy");
      } finally {
        await standby.start();
      }
      await waitFor(
        async () => (await db.query(RECOVERY, [], { readOnly: true })).rows[0].standby === true,
        10_000,
        "read-only work back on the restarted standby",
      );
      assert.equal(events.at(-1)?.to, replica);
    },
  );
});

Deno.test("replicas: an unreachable replica costs read-only callers no wait", async () => {
  await using primary = await startCluster();
  const nowhere = `127.0.0.1:${freePort()}`;
  await using db = testDb({ replicas: [nowhere, "127.0.0.1:" + freePort()] }, {}, primary.url());
  const events = failovers(db);
  const t0 = performance.now();
  const { rows } = await db.query(RECOVERY, [], { readOnly: true });
  assert.equal(rows[0].standby, false);
  assert.ok(performance.now() - t0 < 5000, "did not hang");
  assert.equal(events.length, 2);
  assert.match(events[0].reason, /ECONNREFUSED/);
  const health = await db.health();
  assert.deepEqual(health.replicas?.map((r) => r.status), ["unhealthy", "unhealthy"]);
  assert.equal(health.status, "degraded");
});
