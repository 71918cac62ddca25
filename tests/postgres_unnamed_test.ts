// postgres.js adapter: an unnamed statement with parameters (`{ prepare: false }`, or `prepare=false` for the whole
// connection) goes in one write, its parameters serialised without the server's types, so statements behind it are
// sent before it is answered, as prepared ones are. Seen on the wire: the Bind messages written while the first
// statement waits on a lock held elsewhere (postgres.js would otherwise hold each Bind back until the server had
// described the statement). What the parameters become must not change: the conformance suite's value and stream
// tests run again here with every statement unnamed, both ways.
import assert from "node:assert/strict";
import type { Buffer } from "node:buffer";
import { createDriver } from "../adapters/postgres.ts";
import { openSocket } from "../adapters/postgres_socket.ts";
import type { DatabaseConfig } from "../src/config/types.ts";
import type { Driver, DriverConnection } from "../src/contracts.ts";
import { QueryCancelledError, QueryError } from "../src/errors.ts";
import { runValueConformance } from "./conformance/suite.ts";
import { admin, appName, testDb, waitFor } from "./helpers/db.ts";

runValueConformance("postgres prepare=false", (settings) => testDb({ prepare: false, ...settings }), { cancel: true });

runValueConformance("postgres { prepare: false }", (settings) => testDb(settings, { driver: unnamedDriver }), {
  cancel: true,
});

/** The postgres.js driver with `{ prepare: false }` added to every statement's mode, as an ORM asks for its own. */
async function unnamedDriver(config: DatabaseConfig): Promise<Driver> {
  const driver = await createDriver(config);
  return { ...driver, connect: async (request) => unnamed(await driver.connect(request)) };
}

function unnamed(conn: DriverConnection): DriverConnection {
  const query: DriverConnection["query"] = (text, params, signal, mode) =>
    conn.query(text, params, signal, { ...mode, prepare: false });
  return new Proxy(conn, {
    get(target, key) {
      if (key === "query") return query;
      const value = Reflect.get(target, key, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

const BIND = 0x42;

/** The postgres.js driver, counting the Bind messages written on its sessions' sockets while `counting` is set. */
function bindCounter() {
  const seen = { counting: false, binds: 0 };
  const driver = (config: DatabaseConfig) =>
    createDriver(config, {
      socket: async (request) => {
        const socket = await openSocket(request);
        const write = socket.write.bind(socket) as (chunk: Buffer, ...rest: unknown[]) => boolean;
        socket.write = ((chunk: Buffer, ...rest: unknown[]) => {
          // postgres.js writes whole messages: type, then a length that counts itself.
          for (let i = 0; seen.counting && i + 5 <= chunk.length; i += 1 + chunk.readUInt32BE(i + 1)) {
            if (chunk[i] === BIND) seen.binds++;
          }
          return write(chunk, ...rest);
        }) as typeof socket.write;
        return socket;
      },
    });
  return { seen, driver };
}

for (
  const [how, settings, mode] of [
    ["{ prepare: false }", {}, { prepare: false }],
    ["prepare=false", { prepare: false }, undefined],
  ] as const
) {
  Deno.test(`postgres: unnamed statements (${how}) pipeline; one with an array parameter waits for its types`, async () => {
    const outside = admin();
    const app = appName("unnamed");
    const { seen, driver } = bindCounter();
    await using db = testDb({ pool_max: 1, application_name: app, sslmode: "disable", ...settings }, { driver });
    try {
      await db.query("SELECT 1");
      const key = 7_000_000 + (Deno.pid % 1_000_000);
      await outside`SELECT pg_advisory_lock(${key})`;
      seen.counting = true;
      const first = db.query("SELECT 'locked' AS r FROM pg_advisory_xact_lock($1::int8)", [key], mode);
      const rest = Array.from(
        { length: 18 },
        (_, i) =>
          i === 9
            ? db.query("SELECT 1 / $1::int AS boom", [0], mode).then(() => "no error", (e) => e)
            : db.query("SELECT $1::int AS n, $2::jsonb AS doc, $3::text AS t", [i, { i }, "x"], mode),
      );
      // An array is a literal or, bound to json, JSON: its statement still asks the server for the types first.
      const array = db.query("SELECT $1::int[] AS a, $2::jsonb AS j", [[1, null], [1, "x"]], mode);
      await waitFor(
        async () =>
          (await outside`SELECT count(*)::int AS n FROM pg_stat_activity
            WHERE application_name = ${app} AND wait_event_type = 'Lock'`)[0].n === 1,
        5000,
        "the first statement waiting on the lock",
      );
      // All 18 behind the blocked one are on the wire (each sends its Bind), not the one with an array parameter.
      await waitFor(() => seen.binds >= 19, 5000, "19 Binds written");
      assert.equal(seen.binds, 19);
      await outside`SELECT pg_advisory_unlock(${key})`;
      assert.deepEqual((await first).rows, [{ r: "locked" }]);
      const results = await Promise.all(rest);
      for (const [i, r] of results.entries()) {
        if (i === 9) {
          assert.ok(r instanceof QueryError && r.code === "22012", String(r));
          continue;
        }
        assert.deepEqual((r as { rows: unknown[] }).rows, [{ n: i, doc: { i }, t: "x" }]);
      }
      assert.deepEqual((await array).rows, [{ a: [1, null], j: [1, "x"] }]);
      assert.deepEqual((await db.query("SELECT $1::int + 1 AS n", [1], mode)).rows, [{ n: 2 }]);
    } finally {
      await outside.end();
    }
  });
}

Deno.test("postgres: a cursor's parameters go without the server's types; one the server refuses fails it alone", async () => {
  await using db = testDb({ pool_max: 1 });
  const batches = [];
  for await (
    const rows of db.cursor("SELECT x, $2::jsonb AS doc FROM generate_series(1, $1::int) x", [3, { a: 1 }], {
      batchSize: 2,
    })
  ) batches.push(rows);
  assert.deepEqual(batches, [[{ x: 1, doc: { a: 1 } }, { x: 2, doc: { a: 1 } }], [{ x: 3, doc: { a: 1 } }]]);
  const bad = await (async () => {
    for await (const _ of db.cursor("SELECT $1::int AS n", ["x"])) assert.fail("no batch");
  })().catch((e) => e);
  assert.ok(bad instanceof QueryError && bad.code === "22P02", String(bad));
  assert.deepEqual((await db.query("SELECT $1::int AS n", [5], { prepare: false })).rows, [{ n: 5 }]);
});

Deno.test("postgres: an unnamed statement with parameters is cancelled on the server; its connection serves on", async () => {
  await using db = testDb({ pool_max: 1 });
  await db.query("SELECT 1");
  const err = await db.query("SELECT pg_sleep($1::float8)", [10], { prepare: false, timeout: 150 }).catch((e) => e);
  assert.ok(err instanceof QueryCancelledError, String(err));
  assert.deepEqual([err.code, err.phase, err.reachedServer], ["QUERY_TIMEOUT", "running", true]);
  assert.ok(err.cause instanceof QueryError && err.cause.code === "57014", "cancelled on the server: 57014");
  assert.deepEqual((await db.query("SELECT $1::int AS n", [2], { prepare: false })).rows, [{ n: 2 }]);
  assert.equal(db.stats().opened, 1);
});
