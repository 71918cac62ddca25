/**
 * The Kysely suite, run by tests/kysely_test.ts (postgres.js, PGlite) and tests/kysely_neon_test.ts (Neon): written
 * as Kysely's own integration tests are (a schema of people and pets, one `Kysely` per target, each case on a
 * fresh set of rows), and, when a reference `Kysely` on Kysely's own `pg` dialect is given, every case runs on
 * both and the results must be equal.
 *
 * @module
 */

import assert from "node:assert/strict";
import { AbortedTransactionError, type ColumnType, type Generated, Kysely, type LogEvent, sql } from "kysely";
import { type Migration, Migrator } from "kysely/migration";
import { jsonArrayFrom } from "kysely/helpers/postgres";
import type { DatabaseConnectionBase } from "../src/database.ts";
import { DeweyDialect } from "../integrations/kysely.ts";

/** The tables every case uses, in a schema of the run's own. */
export interface Database {
  person: {
    id: Generated<number>;
    first_name: string;
    last_name: string | null;
    gender: "male" | "female" | "other";
    age: number | null;
  };
  pet: { id: Generated<number>; name: string; owner_id: number; species: string };
  doc: {
    id: Generated<number>;
    data: ColumnType<unknown, string | Record<string, unknown>, string>;
    meta: ColumnType<unknown, string | Record<string, unknown> | null, string> | null;
    tags: string[] | null;
    nums: number[] | null;
    big: ColumnType<string, bigint | string, bigint | string> | null;
    amount: ColumnType<string, string | number, string> | null;
    at: Date | null;
    local: Date | null;
    day: Date | null;
    bytes: Uint8Array | null;
  };
  counter: { id: number; n: number };
}

/** What a target brings to the suite. */
export interface Target {
  /** A database of this target; `settings` are configuration overrides (pool size...). */
  db(settings?: Record<string, unknown>): DatabaseConnectionBase;
  /** Kysely on its own `pg` dialect, on the same server: every case is compared with it. */
  reference?: () => Kysely<Database>;
  /** How many connections the target can hold at once (PGlite: 1). */
  maxConnections: number;
  /** Whether a statement can be cancelled on the server. */
  cancel: boolean;
}

/** `value` with Node Buffers as plain Uint8Arrays: `pg` gives bytea as Buffer, @dewey/db as Uint8Array. */
export function plain(value: unknown): unknown {
  if (value instanceof Uint8Array) return new Uint8Array(value);
  if (Array.isArray(value)) return value.map(plain);
  if (value instanceof Date || value === null || typeof value !== "object") return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
}

/** Runs `fn` on the target's Kysely and, when there is one, on the reference; asserts both results are equal. */
type Both = <T>(fn: (k: Kysely<Database>) => Promise<T>) => Promise<T>;

interface Ctx {
  /** Kysely on the target, bound to the run's schema. */
  k: Kysely<Database>;
  /** The same, without the schema plugin (for `sql` with explicit names). */
  root: Kysely<Database>;
  db: DatabaseConnectionBase;
  both: Both;
  schema: string;
  /** Statements Kysely logged on the target. */
  log: string[];
  target: Target;
}

const PEOPLE = [
  { first_name: "Jennifer", last_name: "Aniston", gender: "female", age: 55 },
  { first_name: "Arnold", last_name: "Schwarzenegger", gender: "male", age: 77 },
  { first_name: "Sylvester", last_name: null, gender: "male", age: null },
] as const;

async function createSchema(k: Kysely<Database>, schema: string): Promise<void> {
  await k.schema.createSchema(schema).ifNotExists().execute();
  const s = k.withSchema(schema).schema;
  await s.createTable("person").ifNotExists()
    .addColumn("id", "serial", (c) => c.primaryKey())
    .addColumn("first_name", "varchar(255)", (c) => c.notNull())
    .addColumn("last_name", "varchar(255)")
    .addColumn("gender", "varchar(50)", (c) => c.notNull())
    .addColumn("age", "integer")
    .execute();
  await s.createTable("pet").ifNotExists()
    .addColumn("id", "serial", (c) => c.primaryKey())
    .addColumn("name", "varchar(255)", (c) => c.notNull())
    .addColumn("owner_id", "integer", (c) => c.notNull().references("person.id").onDelete("cascade"))
    .addColumn("species", "varchar(50)", (c) => c.notNull())
    .execute();
  await s.createTable("doc").ifNotExists()
    .addColumn("id", "serial", (c) => c.primaryKey())
    .addColumn("data", "jsonb", (c) => c.notNull())
    .addColumn("meta", "json")
    .addColumn("tags", sql`text[]`)
    .addColumn("nums", sql`integer[]`)
    .addColumn("big", "bigint")
    .addColumn("amount", "numeric(20, 4)")
    .addColumn("at", "timestamptz")
    .addColumn("local", "timestamp")
    .addColumn("day", "date")
    .addColumn("bytes", "bytea")
    .execute();
  await s.createTable("counter").ifNotExists()
    .addColumn("id", "integer", (c) => c.primaryKey())
    .addColumn("n", "integer", (c) => c.notNull())
    .execute();
}

async function resetRows(k: Kysely<Database>, schema: string): Promise<void> {
  const t = (name: string) => sql.table(`${schema}.${name}`);
  await sql`truncate table ${t("pet")}, ${t("person")}, ${t("doc")}, ${t("counter")} restart identity`.execute(k);
  const people = await k.insertInto("person").values(PEOPLE.map((p) => ({ ...p }))).returning("id").execute();
  await k.insertInto("pet").values([
    { name: "Catto", owner_id: people[0].id, species: "cat" },
    { name: "Doggo", owner_id: people[1].id, species: "dog" },
    { name: "Hammo", owner_id: people[1].id, species: "hamster" },
  ]).execute();
}

/** The name of one schema per run: test files of other checkouts share the database. */
export function schemaName(prefix: string): string {
  return `${prefix}_${Deno.pid}_${crypto.randomUUID().slice(0, 8)}`;
}

/**
 * Registers the suite as one `Deno.test` named `kysely on <name>` with a step per case. One database (and one
 * reference) serves every case; each case starts from the same rows.
 */
export function kyselySuite(name: string, target: Target): void {
  Deno.test(`kysely on ${name}`, async (t) => {
    const schema = schemaName("kysely");
    const db = target.db({ pool_max: Math.min(10, target.maxConnections) });
    const log: string[] = [];
    const root = new Kysely<Database>({
      dialect: new DeweyDialect({ db }),
      log: (e: LogEvent) => void (e.level === "query" && log.push(e.query.sql)),
    });
    const k = root.withSchema(schema);
    const refRoot = target.reference?.();
    const ref = refRoot?.withSchema(schema);
    try {
      await createSchema(root, schema);
      const both: Both = async (fn) => {
        await resetRows(k, schema);
        const mine = await fn(k);
        if (ref) {
          await resetRows(ref, schema);
          assert.deepEqual(plain(mine), plain(await fn(ref)), "same result as Kysely on pg");
        }
        return mine;
      };
      const ctx: Ctx = { k, root, db, both, schema, log, target };
      for (const [caseName, run] of Object.entries(CASES)) {
        if (caseName.startsWith("pool:") && target.maxConnections < 2) continue; // needs two connections at once
        if (caseName.startsWith("cancel:") && !target.cancel) continue;
        const ok = await t.step(caseName, async () => {
          await resetRows(k, schema);
          log.length = 0;
          await run(ctx);
          assert.equal(db.stats().inUse, 0, "every connection given back");
        });
        if (!ok) break;
      }
    } finally {
      await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(root).catch(() => {});
      await refRoot?.destroy();
      await root.destroy(); // closes db
    }
  });
}

const CASES: Record<string, (c: Ctx) => Promise<void>> = {
  "crud with returning and numAffectedRows": async ({ both }) => {
    const out = await both(async (k) => {
      const inserted = await k.insertInto("person")
        .values([{ first_name: "Foo", last_name: "Bar", gender: "other" }, { first_name: "Baz", gender: "male" }])
        .returning(["id", "first_name", "last_name", "age"]).execute();
      const insertResult = await k.insertInto("person").values({ first_name: "Qux", gender: "female" })
        .executeTakeFirstOrThrow();
      const updated = await k.updateTable("person").set({ age: 30 }).where("gender", "=", "male")
        .executeTakeFirstOrThrow();
      const updatedRows = await k.updateTable("person").set((eb) => ({ age: eb("age", "+", 1) }))
        .where("first_name", "=", "Foo").returning(["first_name", "age"]).execute();
      const deleted = await k.deleteFrom("person").where("first_name", "=", "Baz").executeTakeFirstOrThrow();
      const none = await k.deleteFrom("person").where("first_name", "=", "nobody").executeTakeFirstOrThrow();
      const people = await k.selectFrom("person").select(["first_name", "age"]).orderBy("id").execute();
      const raw = await sql`select 1 as one`.execute(k);
      return { inserted, insertResult, updated, updatedRows, deleted, none, people, raw };
    });
    assert.deepEqual(out.inserted.map((r) => r.first_name), ["Foo", "Baz"]);
    assert.equal(out.insertResult.numInsertedOrUpdatedRows, 1n);
    assert.equal(out.updated.numUpdatedRows, 3n);
    assert.deepEqual(out.updatedRows, [{ first_name: "Foo", age: null }]);
    assert.equal(out.deleted.numDeletedRows, 1n);
    assert.equal(out.none.numDeletedRows, 0n);
    assert.equal(out.people.length, 5);
    assert.deepEqual(out.raw, { numAffectedRows: undefined, rows: [{ one: 1 }] });
  },

  "joins: duplicate column names as pg gives them (last wins), aliases keep both": async ({ both }) => {
    const out = await both(async (k) => ({
      all: await k.selectFrom("person").innerJoin("pet", "pet.owner_id", "person.id").selectAll()
        .orderBy("pet.name").execute(),
      aliased: await k.selectFrom("person").innerJoin("pet", "pet.owner_id", "person.id")
        .select(["person.id as person_id", "pet.id as pet_id", "pet.name", "person.first_name"])
        .orderBy("pet.name").execute(),
      nested: await k.selectFrom("person").select((eb) => [
        "first_name",
        jsonArrayFrom(
          eb.selectFrom("pet").select(["pet.id", "pet.name"]).whereRef("pet.owner_id", "=", "person.id")
            .orderBy("pet.name"),
        ).as("pets"),
      ]).orderBy("person.id").execute(),
    }));
    assert.deepEqual(out.all.map((r) => r.id), [1, 2, 3], "the pet's id (the later column)");
    assert.deepEqual(out.aliased.map((r) => [r.person_id, r.pet_id]), [[1, 1], [2, 2], [2, 3]]);
    assert.deepEqual(out.nested[1].pets, [{ id: 2, name: "Doggo" }, { id: 3, name: "Hammo" }]);
    assert.deepEqual(out.nested[2].pets, []);
  },

  "json and jsonb: JSON.stringify'd values and objects, read back parsed, stored as JSON": async ({ both }) => {
    const value = { a: 1, b: [1, "two", null], c: { d: true } };
    const out = await both(async (k) => {
      await k.insertInto("doc").values([
        { data: JSON.stringify(value), meta: JSON.stringify([1, 2]) },
        { data: value, meta: { x: "y" } },
        { data: JSON.stringify("just a string"), meta: null },
      ]).execute();
      return {
        rows: await k.selectFrom("doc").select(["data", "meta"]).orderBy("id").execute(),
        text: await k.selectFrom("doc").select([
          sql<string>`data::text`.as("data"),
          sql<string>`jsonb_typeof(data)`.as("type"),
        ]).orderBy("id").execute(),
        path: await k.selectFrom("doc").select(sql<string>`data->'c'->>'d'`.as("d")).where("id", "=", 2).execute(),
      };
    });
    assert.deepEqual(out.rows, [
      { data: value, meta: [1, 2] },
      { data: value, meta: { x: "y" } },
      { data: "just a string", meta: null },
    ]);
    assert.deepEqual(out.text.map((r) => r.type), ["object", "object", "string"], "never a JSON string of JSON");
    assert.equal(out.text[0].data, '{"a": 1, "b": [1, "two", null], "c": {"d": true}}');
    assert.deepEqual(out.path, [{ d: "true" }]);
  },

  "arrays: integer[] and text[] in and out, = any()": async ({ both }) => {
    const out = await both(async (k) => {
      await k.insertInto("doc").values([
        { data: "{}", tags: ["a", "b,c", 'quo"te', ""], nums: [1, 2, 3] },
        { data: "{}", tags: [], nums: null },
      ]).execute();
      return {
        rows: await k.selectFrom("doc").select(["tags", "nums"]).orderBy("id").execute(),
        any: await k.selectFrom("person").select("first_name").where("id", "=", sql<number>`any(${[1, 3]}::int[])`)
          .orderBy("id").execute(),
      };
    });
    assert.deepEqual(out.rows, [{ tags: ["a", "b,c", 'quo"te', ""], nums: [1, 2, 3] }, { tags: [], nums: null }]);
    assert.deepEqual(out.any.map((r) => r.first_name), ["Jennifer", "Sylvester"]);
  },

  "bigint and numeric: bigint in, strings out, counts as strings": async ({ both }) => {
    const out = await both(async (k) => {
      await k.insertInto("doc").values([
        { data: "{}", big: 9007199254740993n, amount: "12345678.1234" },
        { data: "{}", big: "-42", amount: 0.5 },
      ]).execute();
      return {
        rows: await k.selectFrom("doc").select(["big", "amount"]).orderBy("id").execute(),
        agg: await k.selectFrom("doc").select((eb) => [
          eb.fn.countAll().as("n"),
          eb.fn.sum("amount").as("total"),
          eb.fn.max("big").as("max"),
        ]).executeTakeFirstOrThrow(),
      };
    });
    assert.deepEqual(out.rows, [{ big: "9007199254740993", amount: "12345678.1234" }, {
      big: "-42",
      amount: "0.5000",
    }]);
    assert.deepEqual(out.agg, { n: "2", total: "12345678.6234", max: "9007199254740993" });
  },

  "timestamps, dates and bytea: round trip and the server's text": async ({ both }) => {
    const at = new Date("2024-03-10T01:59:59.123Z");
    const out = await both(async (k) => {
      await k.insertInto("doc").values({ data: "{}", at, day: new Date("2024-02-29T00:00:00Z"), bytes: BYTES })
        .execute();
      return {
        row: await k.selectFrom("doc").select(["at", "bytes"]).executeTakeFirstOrThrow(),
        text: await k.selectFrom("doc").select([
          sql<string>`to_char(at at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.MS')`.as("at_utc"),
          sql<string>`bytes::text`.as("bytes"),
        ]).executeTakeFirstOrThrow(),
      };
    });
    assert.deepEqual(out.row.at, at);
    assert.deepEqual(plain(out.row.bytes), BYTES);
    assert.equal(out.text.bytes, "\\x00017f80ff");
    assert.equal(out.text.at_utc, "2024-03-10 01:59:59.123");
  },

  "transaction: commit, rollback on throw, isolation level and read only": async ({ both, k }) => {
    const out = await both(async (k) => {
      const committed = await k.transaction().execute(async (trx) => {
        await trx.insertInto("person").values({ first_name: "Committed", gender: "other" }).execute();
        return await sql<{ iso: string; ro: string }>`select current_setting('transaction_isolation') as iso,
          current_setting('transaction_read_only') as ro`.execute(trx);
      });
      const thrown = await k.transaction().execute(async (trx) => {
        await trx.insertInto("person").values({ first_name: "RolledBack", gender: "other" }).execute();
        throw new Error("boom");
      }).catch((e: Error) => e.message);
      const serializable = await k.transaction().setIsolationLevel("serializable").execute((trx) =>
        sql<{ iso: string }>`select current_setting('transaction_isolation') as iso`.execute(trx)
      );
      const repeatable = await k.transaction().setIsolationLevel("repeatable read").setAccessMode("read only")
        .execute((trx) =>
          sql<{ iso: string; ro: string }>`select current_setting('transaction_isolation') as iso,
            current_setting('transaction_read_only') as ro`.execute(trx)
        );
      const readOnly = await k.transaction().setAccessMode("read only").execute((trx) =>
        trx.insertInto("person").values({ first_name: "Nope", gender: "other" }).execute()
      ).catch((e: { code?: string }) => e.code);
      const names = await k.selectFrom("person").select("first_name").orderBy("id").execute();
      return {
        committed: committed.rows,
        thrown,
        serializable: serializable.rows,
        repeatable: repeatable.rows,
        readOnly,
        names,
      };
    });
    assert.deepEqual(out.committed, [{ iso: "read committed", ro: "off" }]);
    assert.equal(out.thrown, "boom");
    assert.deepEqual(out.serializable, [{ iso: "serializable" }]);
    assert.deepEqual(out.repeatable, [{ iso: "repeatable read", ro: "on" }]);
    assert.equal(out.readOnly, "25006");
    assert.deepEqual(out.names.map((r) => r.first_name), [...PEOPLE.map((p) => p.first_name), "Committed"]);
    await assert.rejects(
      k.transaction().setIsolationLevel("snapshot").execute(() => Promise.resolve()),
      "snapshot is not a PostgreSQL isolation level",
    );
  },

  "transaction: Kysely logs BEGIN and COMMIT as PostgresDriver sends them; errors keep the caller's stack": async (
    { k, log },
  ) => {
    await k.transaction().setIsolationLevel("repeatable read").setAccessMode("read write").execute((trx) =>
      trx.selectFrom("person").select("id").execute()
    );
    await k.transaction().execute((trx) => trx.selectFrom("person").select("id").execute()).catch(() => {});
    await k.transaction().execute(() => Promise.reject(new Error("no"))).catch(() => {});
    assert.deepEqual(log, [
      "start transaction isolation level repeatable read read write",
      `select "id" from "${log[1].match(/from "([^"]+)"/)![1]}"."person"`,
      "commit",
      "begin",
      log[1],
      "commit",
      "begin",
      "rollback",
    ]);
    const error = await k.selectFrom("person").select(sql`1/0`.as("x")).execute().catch((e: Error) => e);
    assert.match(String((error as Error).stack), /kysely_suite\.ts/, "the stack names the caller");
  },

  "transaction: a failed statement caught inside makes COMMIT an AbortedTransactionError; connection clean": async (
    { both, k },
  ) => {
    const out = await both(async (k) => {
      const error = await k.transaction().execute(async (trx) => {
        await trx.insertInto("person").values({ first_name: "Lost", gender: "other" }).execute();
        await sql`select 1/0`.execute(trx).catch(() => {});
      }).catch((e) => e);
      const controlled = await k.startTransaction().execute();
      await sql`select 1/0`.execute(controlled).catch(() => {});
      const commit = await controlled.commit().execute().catch((e) => e);
      const after = await controlled.selectFrom("person").selectAll().execute().catch((e: Error) => e.message);
      await controlled.rollback().execute(); // already aborted: nothing sent
      const lost = await k.selectFrom("person").select("id").where("first_name", "=", "Lost").execute();
      return {
        aborted: error instanceof AbortedTransactionError && commit instanceof AbortedTransactionError,
        after,
        lost,
      };
    });
    assert.equal(out.aborted, true);
    assert.match(out.after as string, /already rolled back/);
    assert.deepEqual(out.lost, []);
    const [{ state }] = await k.connection().execute((c) =>
      sql<{ state: string }>`select coalesce(current_setting('transaction_isolation'), 'x') as state`.execute(c)
        .then((r) => r.rows)
    );
    assert.equal(state, "read committed");
  },

  "controlled transaction with savepoints: Kysely's names, one statement each": async ({ both, log }) => {
    const out = await both(async (k) => {
      const trx = await k.startTransaction().execute();
      await trx.insertInto("person").values({ first_name: "Kept", gender: "other" }).execute();
      const afterKept = await trx.savepoint("after_kept").execute();
      await afterKept.insertInto("person").values({ first_name: "Undone", gender: "other" }).execute();
      const rolledBack = await afterKept.rollbackToSavepoint("after_kept").execute();
      const second = await rolledBack.savepoint("second").execute();
      await second.insertInto("person").values({ first_name: "Released", gender: "other" }).execute();
      const released = await second.releaseSavepoint("second").execute();
      await released.commit().execute();
      const rolled = await k.startTransaction().execute();
      await rolled.insertInto("person").values({ first_name: "Never", gender: "other" }).execute();
      await rolled.rollback().execute();
      const error = await rolled.selectFrom("person").selectAll().execute().catch((e: Error) => e.message);
      return { names: await k.selectFrom("person").select("first_name").where("id", ">", 3).execute(), error };
    });
    assert.deepEqual(out.names.map((r) => r.first_name), ["Kept", "Released"]);
    assert.match(String(out.error), /rolled back/);
    const savepoints = log.filter((s) => /^(savepoint|rollback to|release) /.test(s));
    assert.deepEqual(savepoints, [
      'savepoint "after_kept"',
      'rollback to "after_kept"',
      'savepoint "second"',
      'release "second"',
    ]);
  },

  "streaming: chunks of chunkSize rows; break closes the cursor; in a transaction too": async ({ both, k, db }) => {
    const out = await both(async (k) => {
      await k.insertInto("doc").values(Array.from({ length: 250 }, (_, i) => ({ data: { i } }))).execute();
      return await k.selectFrom("doc").select(["id", "data"]).orderBy("id").execute();
    });
    const streamed: unknown[] = [];
    for await (const row of k.selectFrom("doc").select(["id", "data"]).orderBy("id").stream(100)) streamed.push(row);
    assert.deepEqual(streamed, out);
    let seen = 0;
    for await (const _ of k.selectFrom("doc").select("id").stream(10)) if (++seen === 15) break;
    assert.equal(seen, 15);
    assert.equal(db.stats().inUse, 0, "break gave the connection back");
    const inTrx = await k.transaction().execute(async (trx) => {
      await trx.deleteFrom("doc").where("id", ">", 5).execute();
      const ids: number[] = [];
      for await (const row of trx.selectFrom("doc").select("id").orderBy("id").stream(2)) ids.push(row.id);
      return ids;
    });
    assert.deepEqual(inTrx, [1, 2, 3, 4, 5], "the stream sees the transaction's writes");
    const failing = (async () => {
      for await (const _ of k.selectFrom("doc").select(sql<number>`1 / (id - 3)`.as("x")).orderBy("id").stream(1)) {
        // the third row fails
      }
    })();
    await assert.rejects(failing, /division by zero/);
  },

  "connection(): every statement on one connection; a temp table is visible in each": async ({ k, db, target }) => {
    const outside = target.maxConnections > 1 ? 20 : 0;
    const result = await k.connection().execute(async (c) => {
      await sql`create temp table ky_tmp (x int)`.execute(c);
      const pid = (await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(c)).rows[0].pid;
      const seen = await Promise.all(Array.from({ length: 20 }, async (_, i) => {
        await sql`insert into ky_tmp values (${i})`.execute(c);
        return (await sql<{ pid: number; n: string }>`select pg_backend_pid() as pid, count(*) as n from ky_tmp`
          .execute(c)).rows[0].pid;
      }));
      await Promise.all(Array.from({ length: outside }, () => sql`select 1`.execute(k)));
      const n = (await sql<{ n: string }>`select count(*) as n from ky_tmp`.execute(c)).rows[0].n;
      await sql`drop table ky_tmp`.execute(c);
      return { pid, seen, n };
    });
    assert.deepEqual(new Set(result.seen), new Set([result.pid]));
    assert.equal(result.n, "20");
    assert.equal(db.stats().inUse, 0);
  },

  "pool: a SET in connection() never reaches pooled queries under concurrent load": async ({ k, root }) => {
    const setting = sql<{ v: string }>`select current_setting('kysely.probe', true) as v`;
    const leaked: string[] = [];
    const load = async () => {
      for (let i = 0; i < 10; i++) {
        const { rows } = await setting.execute(root);
        if (rows[0].v === "scoped") leaked.push(rows[0].v);
      }
    };
    const inside = await k.connection().execute(async (c) => {
      await sql`select set_config('kysely.probe', 'scoped', false)`.execute(c);
      const pooled = Promise.all([load(), load(), load(), load()]);
      const values: string[] = [];
      for (let i = 0; i < 10; i++) values.push((await setting.execute(c)).rows[0].v);
      await pooled;
      await sql`reset kysely.probe`.execute(c);
      return values;
    });
    assert.deepEqual(inside, Array(10).fill("scoped"));
    assert.deepEqual(leaked, []);
  },

  "migrator and introspection: migrations run under Kysely's lock, tables listed": async ({ root, schema }) => {
    const migrations: Record<string, Migration> = {
      "001_tag": { up: (k) => k.schema.withSchema(schema).createTable("tag").addColumn("id", "serial").execute() },
      "002_tag_name": {
        up: (k) => k.schema.withSchema(schema).alterTable("tag").addColumn("name", "text").execute(),
      },
    };
    const migrator = new Migrator({
      db: root,
      provider: { getMigrations: () => Promise.resolve(migrations) },
      migrationTableSchema: schema,
    });
    const [first, second] = await Promise.all([migrator.migrateToLatest(), migrator.migrateToLatest()]);
    assert.equal(first.error ?? second.error, undefined);
    const applied = [...first.results ?? [], ...second.results ?? []].map((r) => `${r.migrationName}:${r.status}`);
    assert.deepEqual(applied.sort(), ["001_tag:Success", "002_tag_name:Success"], "each migration ran once");
    const tables = await root.introspection.getTables();
    const tag = tables.find((t) => t.schema === schema && t.name === "tag");
    assert.deepEqual(tag?.columns.map((c) => c.name), ["id", "name"]);
  },

  "pool: 200 concurrent transactions increment a counter exactly": async ({ k }) => {
    await k.insertInto("counter").values({ id: 1, n: 0 }).execute();
    await Promise.all(Array.from({ length: 200 }, () =>
      k.transaction().execute(async (trx) => {
        await trx.updateTable("counter").set((eb) => ({ n: eb("n", "+", 1) })).where("id", "=", 1).execute();
      })));
    const { n } = await k.selectFrom("counter").select("n").where("id", "=", 1).executeTakeFirstOrThrow();
    assert.equal(n, 200);
  },

  "cancel: an abort with 'cancel query' cancels the statement on the server": async ({ k, db }) => {
    const ctl = new AbortController();
    const marker = `ky_cancel_${crypto.randomUUID().slice(0, 8)}`;
    const running = sql`select pg_sleep(30) as ${sql.raw(marker)}`.execute(k.withoutPlugins(), {
      signal: ctl.signal,
      inflightQueryAbortStrategy: "cancel query",
    });
    const watch = sql<{ n: string }>`select count(*) as n from pg_stat_activity
      where query like ${"%" + marker + "%"} and state = 'active' and pid <> pg_backend_pid()`;
    while ((await watch.execute(k)).rows[0].n === "0") await new Promise((r) => setTimeout(r, 10));
    ctl.abort(new Error("user left"));
    await assert.rejects(running, /user left/);
    while ((await watch.execute(k)).rows[0].n !== "0") await new Promise((r) => setTimeout(r, 10));
    while (db.stats().inUse > 0) await new Promise((r) => setTimeout(r, 10));
    const [{ ok }] = (await sql<{ ok: number }>`select 1 as ok`.execute(k)).rows;
    assert.equal(ok, 1);
  },

  "cancel: 'kill session' ends the backend; the pool replaces the connection": async ({ k, db }) => {
    const ctl = new AbortController();
    const marker = `ky_kill_${crypto.randomUUID().slice(0, 8)}`;
    const running = sql`select pg_sleep(30) as ${sql.raw(marker)}`.execute(k.withoutPlugins(), {
      signal: ctl.signal,
      inflightQueryAbortStrategy: "kill session",
    });
    const watch = sql<{ n: string }>`select count(*) as n from pg_stat_activity
      where query like ${"%" + marker + "%"} and pid <> pg_backend_pid()`;
    while ((await watch.execute(k)).rows[0].n === "0") await new Promise((r) => setTimeout(r, 10));
    ctl.abort(new Error("kill it"));
    await assert.rejects(running, /kill it/);
    while ((await watch.execute(k)).rows[0].n !== "0") await new Promise((r) => setTimeout(r, 10));
    while (db.stats().inUse > 0) await new Promise((r) => setTimeout(r, 10));
    const rows = await Promise.all(Array.from({ length: 20 }, () => sql<{ ok: number }>`select 1 as ok`.execute(k)));
    assert.equal(rows.length, 20);
  },

  "cancel: an aborted statement in a transaction rolls it back; the error propagates": async ({ k, db }) => {
    const ctl = new AbortController();
    const error = await k.transaction().execute(async (trx) => {
      await trx.insertInto("person").values({ first_name: "Aborted", gender: "other" }).execute();
      const sleeping = sql`select pg_sleep(30)`.execute(trx, {
        signal: ctl.signal,
        inflightQueryAbortStrategy: "cancel query",
      });
      setTimeout(() => ctl.abort(new Error("stop it")), 50);
      await sleeping;
    }).catch((e: Error) => e.message);
    assert.equal(error, "stop it");
    while (db.stats().inUse > 0) await new Promise((r) => setTimeout(r, 10));
    const rows = await k.selectFrom("person").select("id").where("first_name", "=", "Aborted").execute();
    assert.deepEqual(rows, []);
  },
};

/** bytea test bytes. */
const BYTES = new Uint8Array([0, 1, 127, 128, 255]);
