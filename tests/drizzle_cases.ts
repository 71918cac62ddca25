/**
 * The Drizzle suite's schema and cases, written as Drizzle's own pg integration tests are: each case runs the
 * same Drizzle calls on a database and returns what it read, so tests/drizzle_test.ts can run it on
 * `@dewey/db/drizzle` and on Drizzle's own driver (`postgres-js`, `pglite`) and compare, and check what it
 * must hold on its own. tests/drizzle_tz.ts runs the time cases in a child with another `TZ`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { and, arrayContains, asc, eq, getTableColumns, relations, sql, TransactionRollbackError } from "drizzle-orm";
import {
  alias,
  bigint,
  boolean,
  date,
  doublePrecision,
  integer,
  interval,
  json,
  jsonb,
  line,
  numeric,
  type PgDatabase,
  pgEnum,
  type PgQueryResultHKT,
  pgTable,
  point,
  real,
  serial,
  text,
  time,
  timestamp,
  uuid,
} from "drizzle-orm/pg-core";

export const mood = pgEnum("dz_mood", ["sad", "ok", "happy"]);

export const cities = pgTable("dz_cities", {
  id: serial("id").primaryKey(),
  name: text("name").notNull(),
});

export const users = pgTable("dz_users", {
  id: serial("id").primaryKey(),
  name: text("name").notNull(),
  verified: boolean("verified").notNull().default(false),
  tags: jsonb("tags").$type<string[]>(),
  cityId: integer("city_id").references(() => cities.id),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
});

export const posts = pgTable("dz_posts", {
  id: serial("id").primaryKey(),
  authorId: integer("author_id").notNull(),
  title: text("title").notNull(),
});

export const counter = pgTable("dz_counter", { id: integer("id").primaryKey(), n: integer("n").notNull() });

export const values = pgTable("dz_values", {
  id: serial("id").primaryKey(),
  json: json("json"),
  jsonb: jsonb("jsonb"),
  ts: timestamp("ts", { mode: "date", precision: 3 }),
  tsStr: timestamp("ts_str", { mode: "string" }),
  tstz: timestamp("tstz", { withTimezone: true, mode: "date" }),
  tstzStr: timestamp("tstz_str", { withTimezone: true, mode: "string" }),
  date: date("date", { mode: "date" }),
  dateStr: date("date_str", { mode: "string" }),
  time: time("time"),
  timetz: time("timetz", { withTimezone: true }),
  interval: interval("interval"),
  ints: integer("ints").array(),
  texts: text("texts").array(),
  nested: integer("nested").array().array(),
  tsArr: timestamp("ts_arr", { mode: "date" }).array(),
  dateArr: date("date_arr", { mode: "string" }).array(),
  numArr: numeric("num_arr").array(),
  big: bigint("big", { mode: "number" }),
  bigB: bigint("big_b", { mode: "bigint" }),
  num: numeric("num"),
  real: real("real"),
  dbl: doublePrecision("dbl"),
  bool: boolean("bool"),
  uuid: uuid("uuid"),
  point: point("point"),
  pointXy: point("point_xy", { mode: "xy" }),
  line: line("line"),
  mood: mood("mood"),
});

export const usersRelations = relations(users, ({ one, many }) => ({
  city: one(cities, { fields: [users.cityId], references: [cities.id] }),
  posts: many(posts),
}));
export const postsRelations = relations(posts, ({ one }) => ({
  author: one(users, { fields: [posts.authorId], references: [users.id] }),
}));
export const citiesRelations = relations(cities, ({ many }) => ({ users: many(users) }));

/** The schema as `drizzle(db, { schema })` takes it. */
export const schema = {
  cities,
  users,
  posts,
  counter,
  values,
  mood,
  usersRelations,
  postsRelations,
  citiesRelations,
};

/** A Drizzle database on any pg driver, with the suite's schema. */
// deno-lint-ignore no-explicit-any
export type Db = PgDatabase<PgQueryResultHKT, typeof schema, any>;

/** Drops and creates the suite's tables, one statement at a time (every driver takes that). */
export const DDL: readonly string[] = [
  "DROP TABLE IF EXISTS dz_posts, dz_users, dz_cities, dz_counter, dz_values",
  "DROP TYPE IF EXISTS dz_mood",
  "CREATE TYPE dz_mood AS ENUM ('sad', 'ok', 'happy')",
  "CREATE TABLE dz_cities (id serial PRIMARY KEY, name text NOT NULL)",
  `CREATE TABLE dz_users (id serial PRIMARY KEY, name text NOT NULL, verified boolean NOT NULL DEFAULT false,
     tags jsonb, city_id integer REFERENCES dz_cities(id), created_at timestamptz NOT NULL DEFAULT now())`,
  "CREATE TABLE dz_posts (id serial PRIMARY KEY, author_id integer NOT NULL, title text NOT NULL)",
  "CREATE TABLE dz_counter (id integer PRIMARY KEY, n integer NOT NULL)",
  `CREATE TABLE dz_values (id serial PRIMARY KEY, json json, jsonb jsonb, ts timestamp(3), ts_str timestamp,
     tstz timestamptz, tstz_str timestamptz, date date, date_str date, time time, timetz timetz, interval interval,
     ints integer[], texts text[], nested integer[][], ts_arr timestamp[], date_arr date[], num_arr numeric[],
     big bigint, big_b bigint, num numeric, real real, dbl double precision, bool boolean, uuid uuid, point point,
     point_xy point, line line, mood dz_mood)`,
];

/** Creates the suite's tables afresh. */
export async function reset(db: Db): Promise<void> {
  for (const statement of DDL) await db.execute(sql.raw(statement));
}

/** The rows of `db.execute()`, whichever shape the driver gives (an array, or `{ rows }`). */
export function rowsOf(result: unknown): Record<string, unknown>[] {
  return Array.isArray(result) ? [...result] : (result as { rows: Record<string, unknown>[] }).rows;
}

/** What a failed Drizzle call carries: the server's SQLSTATE, under Drizzle's error or not. */
export function sqlState(error: unknown): string | undefined {
  const e = error as { code?: string; cause?: { code?: string } };
  return e?.cause?.code ?? e?.code;
}

/** One case: Drizzle calls on a fresh schema, what they read, and what that must be whatever the driver. */
export interface Case {
  name: string;
  run(db: Db): Promise<unknown>;
  check?(result: unknown): void;
}

const T0 = new Date("2024-03-10T01:30:45.123Z"); // the night the US clocks moved, and a millisecond part

async function seed(db: Db): Promise<void> {
  await db.insert(cities).values([{ name: "Paris" }, { name: "Lima" }]);
  await db.insert(users).values([
    { name: "Ada", cityId: 1, tags: ["a", "b"], createdAt: T0 },
    { name: "Bob", cityId: 2, verified: true, createdAt: T0 },
    { name: "Cy", createdAt: T0 },
  ]);
  await db.insert(posts).values([{ authorId: 1, title: "p1" }, { authorId: 1, title: "p2" }, {
    authorId: 2,
    title: "p3",
  }]);
}

/** The cases every driver runs, in Drizzle's integration-test style. */
export const CASES: readonly Case[] = [
  {
    name: "insert + select all fields",
    run: async (db) => {
      await seed(db);
      return await db.select().from(users).orderBy(asc(users.id));
    },
    check: (rows) => {
      const r = rows as (typeof users.$inferSelect)[];
      assert.equal(r.length, 3);
      assert.deepEqual(r[0], { id: 1, name: "Ada", verified: false, tags: ["a", "b"], cityId: 1, createdAt: T0 });
    },
  },
  {
    name: "insert/update/delete returning",
    run: async (db) => {
      const inserted = await db.insert(users).values({ name: "Dee", createdAt: T0 }).returning({
        id: users.id,
        name: users.name,
      });
      const updated = await db.update(users).set({ name: "Dee2", verified: true }).where(eq(users.name, "Dee"))
        .returning();
      const deleted = await db.delete(users).where(eq(users.id, inserted[0].id)).returning({ name: users.name });
      const none = await db.update(users).set({ name: "x" }).where(eq(users.id, 999)).returning();
      return { inserted, updated, deleted, none };
    },
    check: (r) => {
      const { inserted, updated, deleted, none } = r as Record<string, Record<string, unknown>[]>;
      assert.deepEqual(inserted, [{ id: 1, name: "Dee" }]);
      assert.equal(updated[0].name, "Dee2");
      assert.equal(updated[0].verified, true);
      assert.deepEqual(deleted, [{ name: "Dee2" }]);
      assert.deepEqual(none, []);
    },
  },
  {
    name: "partial select, sql expressions, $count",
    run: async (db) => {
      await seed(db);
      const partial = await db.select({ id: users.id, upper: sql<string>`upper(${users.name})` }).from(users)
        .where(and(eq(users.verified, false), sql`${users.cityId} is not null`));
      const count = await db.$count(users);
      const verified = await db.$count(users, eq(users.verified, true));
      return { partial, count, verified };
    },
    check: (r) => assert.deepEqual(r, { partial: [{ id: 1, upper: "ADA" }], count: 3, verified: 1 }),
  },
  {
    name: "joins with duplicate column names keep every column",
    run: async (db) => {
      await seed(db);
      const inner = await db.select().from(users).innerJoin(cities, eq(users.cityId, cities.id)).orderBy(users.id);
      const left = await db.select({ userId: users.id, user: users.name, cityId: cities.id, city: cities.name })
        .from(users).leftJoin(cities, eq(users.cityId, cities.id)).orderBy(users.id);
      const author = alias(users, "author");
      const self = await db.select({ post: posts.title, a: author.name, aid: author.id, pid: posts.id }).from(posts)
        .innerJoin(author, eq(posts.authorId, author.id)).orderBy(posts.id);
      return { inner, left, self };
    },
    check: (r) => {
      const { inner, left, self } = r as Record<string, Record<string, Record<string, unknown> | unknown>[]>;
      assert.equal(inner.length, 2);
      const first = inner[0] as Record<string, Record<string, unknown>>;
      assert.equal(first.dz_users.name, "Ada");
      assert.deepEqual(first.dz_cities, { id: 1, name: "Paris" });
      assert.deepEqual(left[2], { userId: 3, user: "Cy", cityId: null, city: null });
      assert.deepEqual(self[2], { post: "p3", a: "Bob", aid: 2, pid: 3 });
    },
  },
  {
    name: "json and jsonb round-trip as values, not strings",
    run: async (db) => {
      const doc = { a: 1, b: [true, null, "x"], c: { d: "é\u2028" } };
      await db.insert(values).values([{ json: doc, jsonb: doc }, { json: "text", jsonb: [1, 2] }, {
        json: 42,
        jsonb: "s",
      }]);
      const rows = await db.select({ json: values.json, jsonb: values.jsonb }).from(values).orderBy(values.id);
      const types = rowsOf(await db.execute(sql`select jsonb_typeof(jsonb) as t from dz_values order by id`));
      const field = await db.select({ v: sql`${values.jsonb}->'c'->>'d'` }).from(values).where(eq(values.id, 1));
      return { rows, types, field };
    },
    check: (r) => {
      const { rows, types, field } = r as Record<string, Record<string, unknown>[]>;
      assert.deepEqual(rows[0].jsonb, { a: 1, b: [true, null, "x"], c: { d: "é\u2028" } });
      assert.deepEqual(rows[1].jsonb, [1, 2]);
      assert.deepEqual(types, [{ t: "object" }, { t: "array" }, { t: "string" }]);
      assert.deepEqual(field, [{ v: "é\u2028" }]);
    },
  },
  {
    name: "timestamps, dates, times and intervals in every mode",
    run: timeRoundTrip,
    check: checkTimes,
  },
  {
    name: "arrays",
    run: async (db) => {
      await db.insert(values).values({
        ints: [1, 2, 3],
        texts: ["a", "b c", "", '"q"', "{x}"],
        nested: [[1, 2], [3, 4]],
        numArr: ["1.50", "2"],
        dateArr: ["2024-01-02", "1999-12-31"],
      });
      const [row] = await db.select({
        ints: values.ints,
        texts: values.texts,
        nested: values.nested,
        numArr: values.numArr,
        dateArr: values.dateArr,
      }).from(values);
      const contains = await db.select({ id: values.id }).from(values).where(arrayContains(values.ints, [2]));
      return { row, contains };
    },
    check: (r) => {
      const { row, contains } = r as { row: Record<string, unknown>; contains: unknown[] };
      assert.deepEqual(row, {
        ints: [1, 2, 3],
        texts: ["a", "b c", "", '"q"', "{x}"],
        nested: [[1, 2], [3, 4]],
        numArr: ["1.50", "2"],
        dateArr: ["2024-01-02", "1999-12-31"],
      });
      assert.deepEqual(contains, [{ id: 1 }]);
    },
  },
  {
    name: "bigint (number and bigint modes), numeric, real, double, bool, uuid, point, line, enum",
    run: async (db) => {
      await db.insert(values).values({
        big: 9007199254740991,
        bigB: 9223372036854775807n,
        num: "12345678901234567890.123456789",
        real: 1.5,
        dbl: 0.1,
        bool: true,
        uuid: "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
        point: [1.5, -2],
        pointXy: { x: 3, y: 4 },
        line: [1, 2, 3],
        mood: "happy",
      });
      const [row] = await db.select({ ...getTableColumns(values) }).from(values);
      const { big, bigB, num, real, dbl, bool, uuid, point, pointXy, line, mood } = row;
      return { big, bigB: String(bigB), bigBType: typeof bigB, num, real, dbl, bool, uuid, point, pointXy, line, mood };
    },
    check: (r) =>
      assert.deepEqual(r, {
        big: 9007199254740991,
        bigB: "9223372036854775807",
        bigBType: "bigint",
        num: "12345678901234567890.123456789",
        real: 1.5,
        dbl: 0.1,
        bool: true,
        uuid: "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
        point: [1.5, -2],
        pointXy: { x: 3, y: 4 },
        line: [1, 2, 3],
        mood: "happy",
      }),
  },
  {
    name: "execute() of raw SQL gives object rows; $count; aggregates",
    run: async (db) => {
      await seed(db);
      const rows = rowsOf(
        await db.execute(sql`select id, name, created_at, 1::int8 as one from ${users} where ${users.id} < ${3}
          order by id`),
      );
      const agg = await db.select({ n: sql<number>`count(*)`.mapWith(Number), max: sql`max(${users.id})` }).from(
        users,
      );
      return { rows, agg };
    },
    check: (r) => {
      const { rows, agg } = r as Record<string, Record<string, unknown>[]>;
      assert.deepEqual(rows.map((x) => [x.id, x.name, x.one]), [[1, "Ada", "1"], [2, "Bob", "1"]]);
      assert.equal(typeof rows[0].created_at, "string", "timestamptz stays text in raw results, as on postgres-js");
      assert.deepEqual(agg, [{ n: 3, max: 3 }]);
    },
  },
  {
    name: "relational queries with nested relations",
    run: async (db) => {
      await seed(db);
      const all = await db.query.users.findMany({
        with: { city: true, posts: { orderBy: (p, { desc }) => [desc(p.id)], columns: { title: true } } },
        orderBy: (u, { asc }) => [asc(u.id)],
      });
      const one = await db.query.cities.findFirst({
        where: (c, { eq }) => eq(c.name, "Paris"),
        with: { users: { columns: { name: true, createdAt: true }, with: { posts: { limit: 1 } } } },
      });
      return { all, one };
    },
    check: (r) => {
      const { all, one } = r as { all: Record<string, unknown>[]; one: Record<string, unknown> };
      assert.equal(all.length, 3);
      assert.deepEqual(all[0].posts, [{ title: "p2" }, { title: "p1" }]);
      assert.deepEqual(all[0].city, { id: 1, name: "Paris" });
      assert.equal(all[2].city, null);
      assert.deepEqual(one, {
        id: 1,
        name: "Paris",
        users: [{ name: "Ada", createdAt: T0, posts: [{ id: 1, authorId: 1, title: "p1" }] }],
      });
    },
  },
  {
    name: "prepared queries with placeholders",
    run: async (db) => {
      await seed(db);
      const byId = db.select({ id: users.id, name: users.name }).from(users)
        .where(eq(users.id, sql.placeholder("id"))).prepare("dz_user_by_id");
      const a = await byId.execute({ id: 1 });
      const b = await byId.execute({ id: 2 });
      const insert = db.insert(posts).values({ authorId: sql.placeholder("a"), title: sql.placeholder("t") })
        .returning({ id: posts.id }).prepare("dz_insert_post");
      const c = await insert.execute({ a: 3, t: "p4" });
      const rq = db.query.users.findFirst({
        where: (u, { eq }) => eq(u.id, sql.placeholder("id")),
        with: { posts: true },
      })
        .prepare("dz_rq");
      const d = await rq.execute({ id: 3 });
      const unnamed = await db.select({ n: sql<number>`${sql.placeholder("n")}::int + 1` }).from(users).limit(1)
        .prepare("dz_plus").execute({ n: 41 });
      return { a, b, c, d, unnamed };
    },
    check: (r) => {
      const { a, b, c, d, unnamed } = r as Record<string, unknown>;
      assert.deepEqual([a, b, c], [[{ id: 1, name: "Ada" }], [{ id: 2, name: "Bob" }], [{ id: 4 }]]);
      assert.deepEqual((d as { posts: unknown[] }).posts, [{ id: 4, authorId: 3, title: "p4" }]);
      assert.deepEqual(unnamed, [{ n: 42 }]);
    },
  },
  {
    name: "transaction commits; tx.rollback() and a throw roll back",
    run: async (db) => {
      await db.insert(counter).values({ id: 1, n: 0 });
      const committed = await db.transaction(async (tx) => {
        await tx.update(counter).set({ n: sql`${counter.n} + 1` });
        return (await tx.select().from(counter))[0].n;
      });
      const rolledBack = await db.transaction(async (tx) => {
        await tx.update(counter).set({ n: 100 });
        tx.rollback();
      }).then(() => "no error", (e) => e instanceof TransactionRollbackError ? "TransactionRollbackError" : String(e));
      const thrown = await db.transaction(async (tx) => {
        await tx.update(counter).set({ n: 200 });
        throw new Error("boom");
      }).catch((e) => (e as Error).message);
      const failed = await db.transaction(async (tx) => {
        await tx.update(counter).set({ n: 300 });
        await tx.execute(sql`select 1/0`);
      }).catch((e) => sqlState(e));
      return { committed, rolledBack, thrown, failed, after: await db.select().from(counter) };
    },
    check: (r) =>
      assert.deepEqual(r, {
        committed: 1,
        rolledBack: "TransactionRollbackError",
        thrown: "boom",
        failed: "22012",
        after: [{ id: 1, n: 1 }],
      }),
  },
  {
    name: "transaction isolation level, access mode and deferrable",
    run: async (db) => {
      const show = async (tx: Db) =>
        rowsOf(
          await tx.execute(
            sql`select current_setting('transaction_isolation') as iso, current_setting('transaction_read_only') as ro, current_setting('transaction_deferrable') as d`,
          ),
        )[0];
      const serializable = await db.transaction((tx) => show(tx as unknown as Db), { isolationLevel: "serializable" });
      const repeatable = await db.transaction((tx) => show(tx as unknown as Db), {
        isolationLevel: "repeatable read",
        accessMode: "read only",
      });
      const deferrable = await db.transaction((tx) => show(tx as unknown as Db), {
        isolationLevel: "serializable",
        accessMode: "read only",
        deferrable: true,
      });
      const readWrite = await db.transaction((tx) => show(tx as unknown as Db), {
        accessMode: "read write",
        deferrable: false,
      });
      const readOnlyWrite = await db.transaction(async (tx) => {
        await tx.insert(counter).values({ id: 9, n: 9 });
      }, { accessMode: "read only" }).catch((e) => sqlState(e));
      return { serializable, repeatable, deferrable, readWrite, readOnlyWrite };
    },
    check: (r) =>
      assert.deepEqual(r, {
        serializable: { iso: "serializable", ro: "off", d: "off" },
        repeatable: { iso: "repeatable read", ro: "on", d: "off" },
        deferrable: { iso: "serializable", ro: "on", d: "on" },
        readWrite: { iso: "read committed", ro: "off", d: "off" },
        readOnlyWrite: "25006",
      }),
  },
  {
    name: "nested transactions are savepoints; a failed one rolls back alone",
    run: async (db) => {
      const result = await db.transaction(async (tx) => {
        await tx.insert(counter).values({ id: 1, n: 1 });
        await tx.transaction(async (tx2) => {
          await tx2.insert(counter).values({ id: 2, n: 2 });
          await tx2.transaction(async (tx3) => {
            await tx3.insert(counter).values({ id: 3, n: 3 });
          });
        });
        const rolled = await tx.transaction(async (tx2) => {
          await tx2.insert(counter).values({ id: 4, n: 4 });
          tx2.rollback();
        }).catch((e) => e instanceof TransactionRollbackError);
        const failed = await tx.transaction(async (tx2) => {
          await tx2.insert(counter).values({ id: 5, n: 5 });
          await tx2.insert(counter).values({ id: 1, n: 1 }); // duplicate key: the transaction is failed
        }).catch((e) => sqlState(e));
        // The outer transaction goes on after the savepoint rolled back.
        await tx.insert(counter).values({ id: 6, n: 6 });
        return { rolled, failed };
      });
      const outerRolledBack = await db.transaction(async (tx) => {
        await tx.insert(counter).values({ id: 7, n: 7 });
        await tx.transaction(async (tx2) => {
          await tx2.insert(counter).values({ id: 8, n: 8 });
        });
        tx.rollback();
      }).catch((e) => e instanceof TransactionRollbackError);
      return { result, outerRolledBack, rows: await db.select().from(counter).orderBy(counter.id) };
    },
    check: (r) =>
      assert.deepEqual(r, {
        result: { rolled: true, failed: "23505" },
        outerRolledBack: true,
        rows: [1, 2, 3, 6].map((id) => ({ id, n: id })),
      }),
  },
  {
    name: "query errors carry the statement and the server's error",
    run: async (db) => {
      await db.insert(counter).values({ id: 1, n: 1 });
      const error: {
        constructor?: { name?: string };
        query?: string;
        params?: unknown[];
        cause?: { constraint?: string; constraint_name?: string };
      } = await db.insert(counter).values({ id: 1, n: 2 }).then(() => ({}), (e) => e);
      return {
        name: error?.constructor?.name,
        query: error?.query,
        params: error?.params,
        code: sqlState(error),
        constraint: error?.cause?.constraint ?? error?.cause?.constraint_name,
      };
    },
    check: (r) =>
      assert.deepEqual(r, {
        name: "DrizzleQueryError",
        query: 'insert into "dz_counter" ("id", "n") values ($1, $2)',
        params: [1, 2],
        code: "23505",
        constraint: "dz_counter_pkey",
      }),
  },
];

/** A fixed instant in each time type and mode, written and read back, plus the server's own view of them. */
export async function timeRoundTrip(db: Db): Promise<unknown> {
  await db.insert(values).values({
    ts: T0,
    tsStr: "2024-03-10 02:30:45.123456",
    tstz: T0,
    tstzStr: "2024-03-10 01:30:45.5+00",
    date: new Date("2024-03-10T00:00:00Z"),
    dateStr: "2024-03-10",
    time: "23:59:59.5",
    timetz: "12:00:00+05:30",
    interval: "1 year 2 mons 3 days 04:05:06",
    tsArr: [T0, new Date("1999-12-31T23:59:59.999Z")],
  });
  const [row] = await db.select({
    ts: values.ts,
    tsStr: values.tsStr,
    tstz: values.tstz,
    tstzStr: values.tstzStr,
    date: values.date,
    dateStr: values.dateStr,
    time: values.time,
    timetz: values.timetz,
    interval: values.interval,
    tsArr: values.tsArr,
  }).from(values);
  const server = rowsOf(
    await db.execute(
      sql`select ts::text as ts, tstz = ${T0.toISOString()}::timestamptz as same_instant from ${values}`,
    ),
  );
  const where = await db.select({ id: values.id }).from(values).where(eq(values.ts, T0));
  return { row, server, where };
}

/** What {@linkcode timeRoundTrip} must read, in any `TZ`, with the server's `TimeZone` left as it is. */
export function checkTimes(result: unknown): void {
  const { row, server, where } = result as {
    row: Record<string, unknown>;
    server: Record<string, unknown>[];
    where: unknown[];
  };
  assert.deepEqual(row.ts, T0, "timestamp in date mode reads back the instant written");
  assert.equal(row.tsStr, "2024-03-10 02:30:45.123456");
  assert.deepEqual(row.tstz, T0);
  assert.equal(typeof row.tstzStr, "string");
  assert.equal(new Date(row.tstzStr as string).getTime(), Date.parse("2024-03-10T01:30:45.5Z"));
  assert.deepEqual(row.date, new Date("2024-03-10T00:00:00Z"));
  assert.equal(row.dateStr, "2024-03-10");
  assert.equal(row.time, "23:59:59.5");
  assert.equal(row.timetz, "12:00:00+05:30");
  assert.equal(row.interval, "1 year 2 mons 3 days 04:05:06");
  assert.deepEqual(row.tsArr, [T0, new Date("1999-12-31T23:59:59.999Z")]);
  assert.deepEqual(server, [{ ts: "2024-03-10 01:30:45.123", same_instant: true }], "stored as UTC wall-clock time");
  assert.deepEqual(where, [{ id: 1 }], "a Date parameter matches the timestamp it was stored as");
}
