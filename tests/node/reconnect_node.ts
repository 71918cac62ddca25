// Under Node, against the npm build: the server kills every idle connection of a pool; the queries after
// that succeed on new backends, and each lost connection is reported once.
import assert from "node:assert/strict";
import process from "node:process";
import { test } from "node:test";
import postgres from "postgres";
import { getConnection } from "../../mod.ts";

async function waitFor(what: string, cond: () => boolean): Promise<void> {
  for (const end = Date.now() + 5000; !cond();) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test("every idle connection killed with pg_terminate_backend: the next queries succeed on new backends", async () => {
  const base = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
  const name = `dewey_node_reconnect_${process.pid}`;
  const url = new URL(base);
  for (const [k, v] of Object.entries({ application_name: name, pool_min: 3, pool_max: 3, health_check_interval: 0 })) {
    url.searchParams.set(k, String(v));
  }
  const admin = postgres(base, { max: 1, onnotice: () => {} });
  const db = await getConnection(url.href, { logger: false });
  try {
    let lost = 0;
    db.on("disconnect", (e) => e.detail.reason === "error" && lost++);
    const pids = async () =>
      new Set(
        await Promise.all(
          Array.from({ length: 12 }, async () => (await db.sql`SELECT pg_backend_pid() AS pid`)[0].pid as number),
        ),
      );
    const before = await pids();
    await waitFor("3 idle connections", () => db.stats().total === 3 && db.stats().inUse === 0);
    const [{ n }] = await admin`
      SELECT count(pg_terminate_backend(pid, 5000))::int AS n FROM pg_stat_activity WHERE application_name = ${name}`;
    assert.equal(n, 3);
    const after = await pids();
    assert.deepEqual([...after].filter((pid) => before.has(pid)), [], "only new backends answer");
    await waitFor("3 disconnect events", () => lost >= 3);
    assert.equal(lost, 3, "each killed connection was discarded once");
  } finally {
    await db.close();
    await admin.end();
  }
});
