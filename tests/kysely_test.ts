// @dewey/db/kysely: the suite (tests/kysely_suite.ts) on postgres.js, compared with Kysely on its own `pg` dialect,
// and on PGlite; timestamps under two TZ values; retries through a server restart; the entry's module graph.
import assert from "node:assert/strict";
import { PGlite } from "@electric-sql/pglite";
import { Kysely, PostgresDialect, sql } from "kysely";
import pg from "pg";
import { createDriver as pgliteDriver } from "../adapters/pglite.ts";
import {
  DatabaseConnection,
  DatabaseConnectionError,
  type Instrumentation,
  type SessionTrace,
  type Telemetry,
} from "../mod.ts";
import { DeweyDialect, inSession } from "../integrations/kysely.ts";
import { startCluster } from "./helpers/cluster.ts";
import { TEST_URL, testDb } from "./helpers/db.ts";
import { type Database, kyselySuite, schemaName } from "./kysely_suite.ts";

kyselySuite("postgres.js", {
  db: (settings) => testDb(settings),
  reference: () =>
    new Kysely<Database>({
      dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: TEST_URL, max: 10 }) }),
    }),
  maxConnections: 10,
  cancel: true,
});

const pglite = new PGlite();
await pglite.waitReady;

kyselySuite("pglite", {
  db: (settings) =>
    new DatabaseConnection(
      { postgres: { driver: "pglite", health_check_interval: 0, ...settings } },
      { driver: (config) => pgliteDriver(config, { instance: pglite }), logger: false },
    ),
  maxConnections: 1,
  cancel: false,
});

Deno.test("kysely: the shared PGlite closes after its suite", async () => {
  await pglite.close();
  assert.equal(pglite.closed, true);
});

Deno.test("kysely: timestamps under two TZ values: timestamptz equal to pg's, timestamp as UTC wall clock", async () => {
  const run = async (tz: string) => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--config=deno.dev.json", "tests/kysely_tz.ts"],
      cwd: new URL("..", import.meta.url).pathname,
      env: { TZ: tz },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    return JSON.parse(new TextDecoder().decode(out.stdout));
  };
  const [newYork, kolkata] = await Promise.all([run("America/New_York"), run("Asia/Kolkata")]);
  const at = "2024-03-10T01:59:59.123Z";
  for (const { dewey, pg } of [newYork, kolkata]) {
    // Same instant and same stored value for timestamptz, whatever the client's zone.
    assert.equal(dewey.tz, at);
    assert.equal(pg.tz, at);
    assert.equal(dewey.tz_utc, "2024-03-10 01:59:59.123");
    assert.equal(pg.tz_utc, dewey.tz_utc);
    // timestamp: both round-trip a Date; @dewey/db stores its UTC wall clock, pg its local one.
    assert.equal(dewey.ts, at);
    assert.equal(pg.ts, at);
    assert.equal(dewey.ts_text, "2024-03-10 01:59:59.123");
    assert.equal(dewey.literal, "2024-01-02T03:04:05.000Z");
    // date: @dewey/db gives UTC midnight of the day the server stored; pg local midnight of the local day.
    assert.equal(dewey.d, `${dewey.d_text}T00:00:00.000Z`);
  }
  assert.equal(newYork.pg.ts_text, "2024-03-09 20:59:59.123");
  assert.equal(kolkata.pg.ts_text, "2024-03-10 07:29:59.123");
  assert.equal(newYork.pg.literal, "2024-01-02T08:04:05.000Z");
  assert.equal(kolkata.pg.literal, "2024-01-01T21:34:05.000Z");
  assert.equal(newYork.pg.d_text, "2024-03-09", "pg sends a Date for a date column as the local day");
  assert.equal(kolkata.dewey.d_text, "2024-03-10");
});

Deno.test("kysely: importing @dewey/db or @dewey/db/edge loads no Kysely; @dewey/db/kysely does", async () => {
  const graph = async (entry: string) => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", "--config=deno.dev.json", entry],
      cwd: new URL("..", import.meta.url).pathname,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    const info = JSON.parse(new TextDecoder().decode(out.stdout));
    // Module specifiers only: the checkout's own path may say "kysely".
    return info.modules.map((m: { specifier: string }) =>
      m.specifier.replace(/^file:\/\/.*?\/(?=[^/]+\.ts$|src\/|adapters\/|integrations\/)/, "./")
    )
      .join("\n");
  };
  const [mod, edge, kysely] = await Promise.all([graph("mod.ts"), graph("edge.ts"), graph("integrations/kysely.ts")]);
  assert.match(mod, /^\.\/src\/database\.ts$/m);
  for (const graph of [mod, edge]) assert.doesNotMatch(graph, /^npm:\/?kysely@|^\.\/integrations\/kysely\.ts$/m);
  assert.match(kysely, /^npm:\/?kysely@0\.29\.9/m);
});

/** Kysely on a test database of its own, in a schema of its own with a counter table. */
async function counterKysely(db: DatabaseConnection, options: { verifyCommit?: boolean } = {}) {
  const schema = schemaName("kysely_retry");
  const kysely = new Kysely<Database>({ dialect: new DeweyDialect({ db, transaction: options }) });
  await sql`create schema ${sql.id(schema)}`.execute(kysely);
  const k = kysely.withSchema(schema);
  await k.schema.createTable("counter").addColumn("id", "integer", (c) => c.primaryKey())
    .addColumn("n", "integer", (c) => c.notNull()).execute();
  await k.insertInto("counter").values({ id: 1, n: 0 }).execute();
  const count = async () => (await k.selectFrom("counter").select("n").executeTakeFirstOrThrow()).n;
  const drop = () => sql`drop schema ${sql.id(schema)} cascade`.execute(kysely).then(() => kysely.destroy());
  return { k, count, drop };
}

Deno.test("kysely: inSession joins every query of fn to one session and re-runs fn on a serialization failure", async () => {
  const db = testDb({ pool_max: 4 });
  const { k, count, drop } = await counterKysely(db);
  try {
    let attempts = 0;
    const pids = await inSession(db, k, async (trx) => {
      attempts++;
      await trx.updateTable("counter").set((eb) => ({ n: eb("n", "+", 1) })).execute();
      const pid = sql<{ pid: number; xact: string }>`select pg_backend_pid() as pid, txid_current()::text as xact`;
      const seen = [
        (await pid.execute(trx)).rows[0],
        await trx.connection().execute(async (c) => (await pid.execute(c)).rows[0]),
        await trx.transaction().execute(async (sp) => (await pid.execute(sp)).rows[0]), // a savepoint
      ];
      const streamed: number[] = [];
      for await (const row of trx.selectFrom("counter").select("n").stream(1)) streamed.push(row.n);
      assert.deepEqual(streamed, [1], "the stream sees the session's write");
      if (attempts === 1) await sql`do $$ begin raise exception using errcode = '40001'; end $$`.execute(trx);
      return seen;
    }, { isolation: "serializable", retry: { attempts: 3, baseDelay: 1 } });
    assert.equal(attempts, 2);
    assert.equal(new Set(pids.map((p) => `${p.pid}/${p.xact}`)).size, 1, "one connection, one transaction");
    assert.equal(await count(), 1, "the failed attempt rolled back, the second committed");
    const error = await inSession(db, k, async (trx) => {
      await trx.updateTable("counter").set({ n: 100 }).execute();
      throw new Error("no");
    }).catch((e: Error) => e.message);
    assert.equal(error, "no");
    assert.equal(await count(), 1);
    await assert.rejects(
      inSession(db, k, (trx) => trx.transaction().setIsolationLevel("serializable").execute(() => Promise.resolve())),
      /cannot be set on a transaction nested/,
    );
    assert.equal(db.stats().inUse, 0);
  } finally {
    await drop();
  }
});

Deno.test("kysely: a server restart under concurrent transactions: retried work applies exactly once", async () => {
  await using cluster = await startCluster();
  const db = testDb({ pool_max: 8, pool_acquire_timeout: "10s" }, {}, cluster.url("postgres"));
  const { k, count, drop } = await counterKysely(db, { verifyCommit: true });
  try {
    let applied = 0;
    const failures: unknown[] = [];
    let stop = false;
    const work = async (i: number) => {
      for (let n = 0; !stop; n++) {
        try {
          const bump = (trx: Kysely<Database>) =>
            trx.updateTable("counter").set((eb) => ({ n: eb("n", "+", 1) })).where("id", "=", 1).execute();
          if ((i + n) % 2 === 0) {
            await inSession(db, k, bump, { retry: { attempts: 50, baseDelay: 20, maxDelay: 100 } });
          } else {
            await k.transaction().execute(bump); // verifyCommit from the dialect: never in doubt
          }
          applied++;
        } catch (error) {
          failures.push(error);
          await new Promise((r) => setTimeout(r, 20));
        }
      }
    };
    const workers = Array.from({ length: 8 }, (_, i) => work(i));
    await new Promise((r) => setTimeout(r, 300));
    const before = applied;
    await cluster.restart("fast");
    await new Promise((r) => setTimeout(r, 700));
    stop = true;
    await Promise.all(workers);
    console.log(`kysely restart: ${applied} applied (${before} before the restart), ${failures.length} failed`);
    assert.ok(before > 0 && applied > before, `work before (${before}) and after (${applied}) the restart`);
    assert.equal(await count(), applied, "every reported success applied once, nothing else applied");
    for (const e of failures) {
      assert.ok(e instanceof DatabaseConnectionError && e.retryable && !e.inDoubt, `retryable, never in doubt: ${e}`);
    }
  } finally {
    await drop();
  }
});

/** An instrumentation that records the text of every statement sessions run. */
function sessionStatements(): { instrumentation: Instrumentation; texts: string[] } {
  const texts: string[] = [];
  const work = { waiting: () => () => {}, retry() {} };
  const session = (): SessionTrace => ({
    ...work,
    statement: (text) => void texts.push(text) as undefined,
    savepoint: () => session(),
    settling: () => () => {},
    within: (fn) => fn(),
    end() {},
  });
  const telemetry: Telemetry = {
    statement: () => undefined,
    session: () => session(),
    connect: () => undefined,
    close() {},
  };
  return { instrumentation: { attach: () => telemetry }, texts };
}

Deno.test("kysely: a transaction is a session with Kysely's settings; the dialect's verifyCommit applies to it", async () => {
  for (const verifyCommit of [false, true]) {
    const { instrumentation, texts } = sessionStatements();
    const db = testDb({}, { telemetry: instrumentation });
    const kysely = new Kysely<Database>({ dialect: new DeweyDialect({ db, transaction: { verifyCommit } }) });
    try {
      await kysely.transaction().setIsolationLevel("serializable").setAccessMode("read only").execute((trx) =>
        sql`select 1`.execute(trx)
      );
      assert.deepEqual(texts, [
        "BEGIN ISOLATION LEVEL SERIALIZABLE READ ONLY",
        "select 1",
        ...verifyCommit ? ["SELECT txid_current_if_assigned()::text AS x"] : [],
        "COMMIT",
      ]);
    } finally {
      await kysely.destroy();
    }
  }
});
