// `@dewey/db/drizzle` against Drizzle's own drivers: every case of tests/drizzle_cases.ts runs on Drizzle over
// @dewey/db and on Drizzle's `postgres-js` driver (the same server), on PGlite against Drizzle's `pglite` driver
// (the same PGlite instance), and on the edge entry's Neon adapter through the local proxy; results must be
// equal and hold on their own. Then what only this driver has: timestamps under other TZ values (a child process),
// 200 concurrent transactions, a server restart under transactions with `retry`, and `@dewey/db` without drizzle.
import assert from "node:assert/strict";
import { PGlite } from "@electric-sql/pglite";
import { eq, getTableName, sql } from "drizzle-orm";
import { Cache, type MutationOption } from "drizzle-orm/cache/core";
import { type PgTable, pgTable, serial, text } from "drizzle-orm/pg-core";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import { drizzle as drizzlePostgresJs } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import { createDriver as createPgliteDriver } from "../adapters/pglite.ts";
import { DeweyDatabase, drizzle, type DrizzleClient, migrate } from "../integrations/drizzle.ts";
import { DatabaseConnection, DatabaseConnectionError } from "../mod.ts";
import { startCluster } from "./helpers/cluster.ts";
import { admin, appName, backends, TEST_URL, testDb } from "./helpers/db.ts";
import { edgeNeonDb } from "./helpers/neon.ts";
import { type Case, CASES, counter, type Db, reset, schema, sqlState } from "./drizzle_cases.ts";

const ROOT = new URL("../", import.meta.url).pathname;

/** Runs `c` on ours and on Drizzle's driver from a fresh schema each; both must read the same, and pass its check. */
async function same(t: Deno.TestContext, c: Case, ours: Db, theirs: Db): Promise<void> {
  await t.step(c.name, async () => {
    await reset(theirs);
    const expected = await c.run(theirs);
    await reset(ours);
    const actual = await c.run(ours);
    c.check?.(actual);
    assert.deepEqual(actual, expected, "the same as on Drizzle's own driver");
  });
}

function postgresJs(url = TEST_URL): ReturnType<typeof postgres> {
  return postgres(url, { max: 4, onnotice: () => {}, idle_timeout: 0 });
}

/** Every case on `conn` under Drizzle, against Drizzle's postgres-js driver on the test database. */
async function againstPostgresJs(t: Deno.TestContext, conn: DrizzleClient): Promise<void> {
  const client = postgresJs();
  try {
    const ours = drizzle(conn, { schema }) as unknown as Db;
    const theirs = drizzlePostgresJs(client, { schema }) as unknown as Db;
    for (const c of CASES) await same(t, c, ours, theirs);
  } finally {
    await client.end();
  }
}

Deno.test("drizzle on postgres.js: every case reads what Drizzle's postgres-js driver reads", async (t) => {
  await using conn = testDb({ pool_max: 10 });
  await againstPostgresJs(t, conn);
});

Deno.test("drizzle on PGlite: every case reads what Drizzle's pglite driver reads on the same instance", async (t) => {
  const pglite = new PGlite();
  try {
    await pglite.waitReady;
    await using conn = new DatabaseConnection({ postgres: { driver: "pglite", health_check_interval: 0 } }, {
      driver: (config) => createPgliteDriver(config, { instance: pglite }),
      logger: false,
    });
    const ours = drizzle(conn, { schema }) as unknown as Db;
    const theirs = drizzlePglite(pglite, { schema }) as unknown as Db;
    for (const c of CASES) await same(t, c, ours, theirs);
    await t.step("200 concurrent transactions on the one connection end exact", async () => {
      await reset(ours);
      assert.equal(await increments(ours, 200), 200);
    });
  } finally {
    await pglite.close();
  }
});

Deno.test("drizzle on the edge entry (Neon adapter through the local proxy): every case reads what postgres-js reads", async (t) => {
  await using conn = edgeNeonDb({ pool_max: 4 });
  await againstPostgresJs(t, conn);
});

/** `n` concurrent transactions, each reading the counter FOR UPDATE and writing it plus one; the final count. */
async function increments(db: Db, n: number): Promise<number> {
  await db.insert(counter).values({ id: 1, n: 0 });
  await Promise.all(Array.from({ length: n }, () =>
    db.transaction(async (tx) => {
      const [{ n }] = await tx.select({ n: counter.n }).from(counter).where(eq(counter.id, 1)).for("update");
      await tx.update(counter).set({ n: n + 1 }).where(eq(counter.id, 1));
    })));
  return (await db.select().from(counter))[0].n;
}

Deno.test("drizzle: 200 concurrent transactions on 10 connections increment a counter exactly", async () => {
  const name = appName("dz200");
  await using conn = testDb({ pool_max: 10, application_name: name });
  const db = drizzle(conn, { schema });
  await reset(db as unknown as Db);
  let peak = 0;
  const watch = setInterval(() => peak = Math.max(peak, conn.stats().inUse), 1);
  try {
    assert.equal(await increments(db as unknown as Db, 200), 200);
  } finally {
    clearInterval(watch);
  }
  assert.ok(peak <= 10, `at most pool_max connections in use (${peak})`);
  const sql = admin();
  try {
    assert.ok(await backends(sql, name) <= 10);
  } finally {
    await sql.end();
  }
});

Deno.test("drizzle: timestamps read the same under other TZ values (child processes), and as on postgres-js", async () => {
  const outputs: Record<string, string> = {};
  for (const tz of ["America/New_York", "Asia/Kolkata"]) {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--config=deno.dev.json", "tests/drizzle_tz.ts"],
      cwd: ROOT,
      env: { TZ: tz, DATABASE_URL: TEST_URL, NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, `TZ=${tz}: ${stderr.split("\n").filter((l) => !/^Warning|^\s+at /.test(l)).join("\n")}`);
    const lines = new TextDecoder().decode(out.stdout).trim().split("\n");
    const { tz: seen, offset } = JSON.parse(lines[0]);
    assert.equal(seen, tz);
    assert.notEqual(offset, 0, "the child really runs off UTC");
    outputs[tz] = lines[1];
  }
  const [a, b] = Object.values(outputs);
  assert.equal(a, b, "the same values whatever the process's time zone");
});

Deno.test("drizzle: a server restart in the middle of transactions with retry loses or doubles nothing", async () => {
  await using pg = await startCluster();
  await using conn = testDb({ pool_max: 8, pool_acquire_timeout: "10s", connect_timeout: "5s" }, {}, pg.url());
  const db = drizzle(conn, { schema });
  await reset(db as unknown as Db);
  await db.insert(counter).values({ id: 1, n: 0 });
  let done = 0;
  let stop = false;
  const failures: unknown[] = [];
  const worker = async () => {
    while (!stop) {
      try {
        await db.transaction(async (tx) => {
          await tx.update(counter).set({ n: sql`${counter.n} + 1` }).where(eq(counter.id, 1));
          await tx.execute(sql`select pg_sleep(0.002)`);
        }, { isolationLevel: "read committed", retry: 5 });
        done++;
      } catch (error) {
        failures.push(error);
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  };
  const workers = Array.from({ length: 8 }, worker);
  while (done < 50) await new Promise((r) => setTimeout(r, 10));
  const before = done;
  await pg.restart("fast");
  const after = done;
  while (done < after + 50) await new Promise((r) => setTimeout(r, 10));
  stop = true;
  await Promise.all(workers);
  const [{ n }] = await db.select({ n: counter.n }).from(counter);
  assert.ok(before >= 50 && done > after, `work before (${before}) and after the restart (${done - after})`);
  assert.equal(n, done, `the counter (${n}) counts exactly the transactions reported committed (${done})`);
  for (const error of failures) {
    // What still failed after the retries is a connection failure, never a COMMIT left in doubt.
    const cause = (error as { cause?: unknown }).cause ?? error;
    assert.ok(cause instanceof DatabaseConnectionError || error instanceof DatabaseConnectionError, String(error));
    assert.notEqual((cause as DatabaseConnectionError).inDoubt, true, String(error));
  }
});

Deno.test("drizzle: retry re-runs a transaction after a serialization failure; Drizzle's error is kept when it gives up", async () => {
  await using conn = testDb({ pool_max: 4 });
  const db = drizzle(conn, { schema });
  await reset(db as unknown as Db);
  await db.insert(counter).values({ id: 1, n: 0 });
  let attempts = 0;
  const other = admin();
  const conflict = async (retry: number) => {
    attempts = 0;
    return await db.transaction(async (tx) => {
      attempts++;
      await tx.select().from(counter); // the snapshot is taken here
      if (attempts === 1) await other`UPDATE dz_counter SET n = n + 1`; // a concurrent commit
      await tx.update(counter).set({ n: sql`${counter.n} + 10` });
      return attempts;
    }, { isolationLevel: "repeatable read", retry });
  };
  let error;
  try {
    assert.equal(await conflict(3), 2, "ran again after 40001");
    assert.equal((await db.select().from(counter))[0].n, 11);
    error = await conflict(1).catch((e) => e);
  } finally {
    await other.end();
  }
  assert.equal(error?.constructor?.name, "DrizzleQueryError", "the caller sees Drizzle's error, as without retry");
  assert.equal(sqlState(error), "40001");
  assert.equal(attempts, 1);
});

Deno.test("drizzle: db.$client is the connection; drizzle({ client }) works; logger and casing are Drizzle's", async () => {
  await using conn = testDb({ pool_max: 2 });
  const logged: string[] = [];
  const db = drizzle({
    client: conn,
    schema,
    logger: { logQuery: (query, params) => logged.push(`${query} -- ${JSON.stringify(params)}`) },
    casing: "snake_case",
  });
  assert.equal(db.$client, conn);
  assert.ok(db instanceof DeweyDatabase);
  for (const wrong of ["postgres://localhost/db", { connection: "postgres://localhost/db" }, postgres({ max: 1 })]) {
    assert.throws(() => drizzle(wrong as never), /takes a DatabaseConnection/);
  }
  await reset(db as unknown as Db);
  await db.select().from(counter).where(eq(counter.id, 7));
  assert.deepEqual(logged.at(-1), 'select "id", "n" from "dz_counter" where "dz_counter"."id" = $1 -- [7]');
  // execute() reads as on Drizzle's postgres-js driver (an array with count and command) and as on its
  // node-postgres driver (rows, rowCount, not enumerated).
  const inserted = await db.execute<{ id: number }>(sql`insert into ${counter} values (1, 1), (2, 2) returning id`);
  assert.deepEqual([inserted.count, inserted.command, inserted.rowCount], [2, "INSERT", 2]);
  assert.deepEqual([...inserted], [{ id: 1 }, { id: 2 }]);
  const { rows, rowCount } = await db.execute<{ n: number }>(sql`select n from ${counter} order by n`);
  assert.deepEqual([rows, rowCount], [[{ n: 1 }, { n: 2 }], 2]);
});

/** Drizzle's cache contract in brief: every select cached, every write to a table forgets that table's entries. */
class MapCache extends Cache {
  readonly entries = new Map<string, { value: unknown; tables: string[] }>();
  gets = 0;
  override strategy(): "all" {
    return "all";
  }
  override get(key: string): Promise<unknown[] | undefined> {
    this.gets++;
    return Promise.resolve(this.entries.get(key)?.value as unknown[] | undefined);
  }
  override put(key: string, value: unknown, tables: string[]): Promise<void> {
    this.entries.set(key, { value, tables });
    return Promise.resolve();
  }
  override onMutate(params: MutationOption): Promise<void> {
    const tables = [params.tables ?? []].flat().map((t) => typeof t === "string" ? t : getTableName(t as PgTable));
    for (const [key, e] of this.entries) if (e.tables.some((t) => tables.includes(t))) this.entries.delete(key);
    return Promise.resolve();
  }
}

Deno.test("drizzle: Drizzle's cache serves repeated selects and is invalidated by writes; failures stay DrizzleQueryError", async () => {
  await using conn = testDb({ pool_max: 2 });
  const cache = new MapCache();
  const db = drizzle(conn, { schema, cache });
  await reset(db as unknown as Db);
  await db.insert(counter).values({ id: 1, n: 1 });
  const read = () => db.select().from(counter).where(eq(counter.id, 1));
  assert.deepEqual(await read(), [{ id: 1, n: 1 }]);
  await conn.query("UPDATE dz_counter SET n = 2"); // behind Drizzle's back: the cached rows stay
  assert.deepEqual(await read(), [{ id: 1, n: 1 }]);
  await db.update(counter).set({ n: 3 }); // through Drizzle: the table's entries go
  assert.deepEqual(await read(), [{ id: 1, n: 3 }]);
  assert.ok(cache.gets >= 3);
  const error = await db.insert(counter).values({ id: 1, n: 1 }).then(() => undefined, (e) => e);
  assert.equal(error?.constructor?.name, "DrizzleQueryError");
  assert.equal(sqlState(error), "23505");
});

Deno.test("drizzle: migrate() applies a migrations folder once, as Drizzle's migrator does", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dewey-dz-migrations-" });
  await using conn = testDb({ pool_max: 2 });
  try {
    await Deno.mkdir(`${dir}/meta`);
    await Deno.writeTextFile(
      `${dir}/meta/_journal.json`,
      JSON.stringify({
        version: "7",
        dialect: "postgresql",
        entries: [{ idx: 0, version: "7", when: 1700000000000, tag: "0000_init", breakpoints: true }],
      }),
    );
    await Deno.writeTextFile(
      `${dir}/0000_init.sql`,
      'CREATE TABLE "dz_migrated" ("id" serial PRIMARY KEY);\n--> statement-breakpoint\nINSERT INTO "dz_migrated" DEFAULT VALUES;',
    );
    const db = drizzle(conn);
    await db.execute(sql`drop table if exists dz_migrated; drop schema if exists dz_migrations cascade`);
    const options = { migrationsFolder: dir, migrationsSchema: "dz_migrations" };
    await migrate(db, options);
    await migrate(db, options);
    const { rows } = await conn.query(
      "SELECT (SELECT count(*) FROM dz_migrated)::int AS n, hash FROM dz_migrations.__drizzle_migrations",
    );
    assert.equal(rows.length, 1);
    assert.equal(rows[0].n, 1, "applied once");
    await db.execute(sql`drop table dz_migrated; drop schema dz_migrations cascade`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test('drizzle: only .prepare(name)d queries are prepared (unless prepare: "all"); an unnamed one sees a new column type', async () => {
  await using conn = testDb({ pool_max: 1 }); // one connection: what it prepared is what pg_prepared_statements shows
  const db = drizzle(conn);
  const retyped = pgTable("dz_retyped", { id: serial().primaryKey(), at: text() });
  await db.execute(sql`DROP TABLE IF EXISTS dz_retyped; CREATE TABLE dz_retyped (id serial PRIMARY KEY, at timestamp)`);
  await db.insert(retyped).values({ at: "2022-01-01 00:00:00-02" });
  // A migration makes it timestamptz: the same insert must now keep the offset (a statement prepared before would
  // still type its parameter as timestamp, and drop it).
  await db.execute(sql`ALTER TABLE dz_retyped ALTER COLUMN at TYPE timestamptz USING at AT TIME ZONE 'UTC'`);
  await db.insert(retyped).values({ at: "2022-01-01 00:00:00-02" });
  const { rows } = await conn.query("SELECT extract(epoch FROM at)::int AS t FROM dz_retyped ORDER BY id");
  assert.deepEqual(rows.map((r) => r.t), [1640995200, 1641002400]);

  const byId = db.select().from(retyped).where(eq(retyped.id, sql.placeholder("id"))).prepare("dz_by_id");
  assert.equal((await byId.execute({ id: 1 })).length, 1);
  await conn.query("SELECT $1::int AS core_default", [1]); // the core's default: prepared
  await conn.query("SELECT $1::int AS core_unnamed", [1], { prepare: false });
  const { rows: prepared } = await conn.query<{ statement: string }>("SELECT statement FROM pg_prepared_statements");
  const texts = prepared.map((p) => p.statement);
  assert.ok(texts.includes('select "id", "at" from "dz_retyped" where "dz_retyped"."id" = $1'), texts.join("\n"));
  assert.ok(!texts.some((t) => t.startsWith('insert into "dz_retyped"')), texts.join("\n"));
  assert.ok(texts.some((t) => t.includes("core_default")) && !texts.some((t) => t.includes("core_unnamed")));
  // prepare: "all" prepares every parameterised query.
  await drizzle(conn, { prepare: "all" }).insert(retyped).values({ at: "2022-01-01 00:00:00Z" });
  const { rows: after } = await conn.query<{ statement: string }>("SELECT statement FROM pg_prepared_statements");
  assert.ok(after.some((p) => p.statement.startsWith('insert into "dz_retyped"')));
  await db.execute(sql`DROP TABLE dz_retyped`);
});

Deno.test("drizzle: importing @dewey/db or @dewey/db/edge loads no drizzle-orm; @dewey/db/drizzle does", async () => {
  const graph = async (entry: string) => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", "--config=deno.json", entry],
      cwd: ROOT,
      stdout: "piped",
      stderr: "null",
    }).output();
    assert.ok(out.success, `deno info ${entry}`);
    const info = JSON.parse(new TextDecoder().decode(out.stdout)) as { modules: { specifier: string }[] };
    return info.modules.map((m) => m.specifier).filter((s) => s.startsWith("npm:"));
  };
  for (const entry of ["mod.ts", "edge.ts"]) {
    const packages = await graph(entry);
    assert.ok(packages.length > 0, `${entry} has npm packages in its graph (the check sees them)`);
    assert.deepEqual(packages.filter((p) => p.includes("drizzle-orm")), [], entry);
  }
  assert.ok((await graph("integrations/drizzle.ts")).some((p) => p.startsWith("npm:/drizzle-orm@")));
});
