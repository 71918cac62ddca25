/**
 * Conformance: row and type modes, and the parameter table (what each kind
 * of JavaScript value becomes in each kind of column, and back), the same on
 * every adapter and under every `TZ` (tests/params_tz_test.ts runs the table
 * again under two time zones).
 *
 * @module
 */

import assert from "node:assert/strict";
import type { Conformance } from "./suite.ts";

/** Registers the value tests. */
export function valueTests({ test, open, table }: Conformance): void {
  test("queries with parameters: rows, command, rowCount, fields, sql tag", async () => {
    await using db = await open();
    await using t = await table(db, "id serial PRIMARY KEY, v text");
    const r = await db.query("SELECT $1::int AS n, $2::text AS s, $3::text AS nothing, $4::bool AS yes", [
      1,
      "x",
      null,
      true,
    ]);
    assert.deepEqual(r.rows, [{ n: 1, s: "x", nothing: null, yes: true }]);
    assert.equal(r.command, "SELECT");
    assert.equal(r.rowCount, 1);
    assert.deepEqual(r.fields.map((f) => [f.name, f.dataTypeID]), [["n", 23], ["s", 25], ["nothing", 25], [
      "yes",
      16,
    ]]);
    const ins = await db.query(`INSERT INTO ${t.name} (v) VALUES ($1), ($2), ($3)`, ["a", "b", "c"]);
    assert.equal(ins.command, "INSERT");
    assert.equal(ins.rowCount, 3);
    const upd = await db.query(`UPDATE ${t.name} SET v = upper(v) WHERE v <> $1`, ["a"]);
    assert.deepEqual([upd.command, upd.rowCount], ["UPDATE", 2]);
    const v = "B";
    assert.deepEqual(await db.query(`SELECT v FROM ${t.name} WHERE v = $1`, [v]).then((x) => x.rows), [{ v: "B" }]);
    assert.deepEqual(await db.sql`SELECT ${v}::text || ${"!"}::text AS s`, [{ s: "B!" }]);
    const empty = await db.query(`SELECT v FROM ${t.name} WHERE false`);
    assert.deepEqual([empty.rows, empty.rowCount, empty.fields.map((f) => f.name)], [[], 0, ["v"]]);
    const ddl = await db.query(`CREATE INDEX ON ${t.name} (v)`);
    assert.equal(ddl.command, "CREATE");
    const multi = await db.query("SELECT 1 AS one; SELECT 2 AS two");
    assert.deepEqual(multi.rows, [{ two: 2 }]);
  });

  test("parameters of every kind round-trip: Date, Uint8Array, bigint, object as JSON, arrays", async () => {
    await using db = await open();
    const when = new Date("2024-05-06T07:08:09.123Z");
    const bytes = new Uint8Array([0, 1, 254, 255]);
    const { rows: [row] } = await db.query(
      "SELECT $1::timestamptz AS ts, $2::bytea AS b, $3::int8 AS big, $4::jsonb AS j, $5::int[] AS arr, " +
        "$6::text[] AS tarr, $7::timestamptz[] AS tsarr, $8::bool[] AS barr, 2 = ANY($9) AS member",
      [when, bytes, 9007199254740993n, { k: "v" }, [1, 2], ["a b", null, 'q"z'], [when, null], [true, false], [1, 2]],
    );
    assert.deepEqual(row.tarr, ["a b", null, 'q"z']);
    assert.deepEqual(row.tsarr, [when, null]);
    assert.deepEqual(row.barr, [true, false]);
    assert.equal(row.member, true);
    assert.equal((row.ts as Date).toISOString(), when.toISOString());
    assert.deepEqual([...(row.b as Uint8Array)], [0, 1, 254, 255]);
    assert.equal(row.big, "9007199254740993");
    assert.deepEqual(row.j, { k: "v" });
    assert.deepEqual(row.arr, [1, 2]);
  });

  test("a value bound to a column of another kind is what the server makes of its text, never silently changed", async () => {
    await using db = await open();
    // A number to bool: the server reads "1"/"0" (postgres.js's own serializer would send "f" for any non-true).
    const b = await db.query("SELECT $1::bool AS one, $2::bool AS zero, $3::int AS n", [1, 0, "7"]);
    assert.deepEqual(b.rows, [{ one: true, zero: false, n: 7 }]);
    await assert.rejects(db.query("SELECT $1::bool AS two", [2]), /boolean/); // the server's 22P02, or PGlite's own
    // A plain object to text: its JSON, as json and jsonb get it (not "[object Object]").
    const o = await db.query("SELECT $1::text AS t, $2::jsonb AS j", [{ a: 1 }, { a: 1 }]);
    assert.deepEqual(o.rows, [{ t: '{"a":1}', j: { a: 1 } }]);
  });

  test("row modes: rowMode array keeps duplicate columns in order; fields give names and type OIDs", async () => {
    await using db = await open();
    const text = "SELECT 1 AS id, 2 AS id, 'x'::text AS name, '\\x0102'::bytea AS b";
    const expected = [[1, 2, "x", new Uint8Array([1, 2])]];
    const r = await db.query(text, [], { rowMode: "array" });
    assert.deepEqual(r.rows, expected);
    assert.deepEqual(r.fields.map((f) => [f.name, f.dataTypeID]), [["id", 23], ["id", 23], ["name", 25], ["b", 17]]);
    assert.deepEqual([r.command, r.rowCount], ["SELECT", 1]);
    assert.deepEqual((await db.query(text, [], { rowMode: "object" })).rows, [{ id: 2, name: "x", b: expected[0][3] }]);
    assert.deepEqual((await db.query("SELECT 1 AS a; SELECT 2 AS b", undefined, { rowMode: "array" })).rows, [[2]]);
    await db.getSession(async (s) => {
      assert.deepEqual((await s.query(text, [], { rowMode: "array" })).rows, expected);
    });
    {
      await using conn = await db.engine.connect();
      assert.deepEqual((await conn.execute(text, [], { rowMode: "array", timeout: 5000 })).rows, expected);
    }
    const bad = await db.query("SELECT 1", [], { rowMode: "arrays" as "array" }).catch((e) => e);
    assert.ok(bad instanceof TypeError, String(bad));
    const badTypes = await db.query("SELECT 1", [], { types: "text" as "raw" }).catch((e) => e);
    assert.ok(badTypes instanceof TypeError, String(badTypes));
    assert.deepEqual((await db.query("SELECT 1 AS one")).rows, [{ one: 1 }]);
  });

  test("type modes: raw gives every value as the server's text; { raw: [oids] } only those columns", async () => {
    await using db = await open();
    const text = `SELECT 1::int AS i, true AS b, '2024-01-02 03:04:05.5'::timestamp AS ts, '{"a":1}'::jsonb AS j,
      '\\x0102'::bytea AS by, ARRAY[1,2] AS arr, NULL::int AS n, 1.50::numeric AS num, 7::int8 AS big`;
    const raw = await db.query(text, [], { types: "raw" });
    assert.deepEqual(raw.rows, [{
      i: "1",
      b: "t",
      ts: "2024-01-02 03:04:05.5",
      j: '{"a": 1}',
      by: "\\x0102",
      arr: "{1,2}",
      n: null,
      num: "1.50",
      big: "7",
    }]);
    const positional = await db.query(text, [], { types: "raw", rowMode: "array" });
    assert.deepEqual(positional.rows, [Object.values(raw.rows[0])]);
    const some = await db.query(text, [], { types: { raw: [1114, 17] } });
    const row = some.rows[0];
    assert.deepEqual([row.i, row.b, row.ts, row.by, row.arr], [1, true, "2024-01-02 03:04:05.5", "\\x0102", [1, 2]]);
    assert.deepEqual(row.j, { a: 1 });
    // With parameters too (extended protocol), and in a session.
    await db.getSession(async (s) => {
      const r = await s.query("SELECT $1::int AS i, $2::bool AS b", [5, true], { types: "raw", rowMode: "array" });
      assert.deepEqual(r.rows, [["5", "t"]]);
    });
    await using t = await table(db, "id int, at timestamp");
    await db.query(`INSERT INTO ${t.name} VALUES (1, '2020-02-03 04:05:06')`);
    assert.deepEqual((await db.query(`SELECT at FROM ${t.name}`, [], { types: "raw" })).rows, [{
      at: "2020-02-03 04:05:06",
    }]);
  });

  test("parameter table: json text, objects, Date and timestamp without shift, bigint, bytea, arrays", async () => {
    await using db = await open();
    const q = async (text: string, params: unknown[]) => (await db.query(text, params)).rows[0];
    // json/jsonb: a string is the document; anything else is serialised.
    assert.deepEqual(await q("SELECT jsonb_typeof($1::jsonb) AS t, $1::jsonb AS v", ['{"a":[1,2]}']), {
      t: "object",
      v: { a: [1, 2] },
    });
    assert.deepEqual(await q("SELECT json_typeof($1::json) AS t, $1::json AS v", ["[1,2]"]), { t: "array", v: [1, 2] });
    assert.deepEqual(await q("SELECT jsonb_typeof($1::jsonb) AS t, $1::jsonb AS v", ['"hi"']), {
      t: "string",
      v: "hi",
    });
    assert.deepEqual(await q("SELECT jsonb_typeof($1::jsonb) AS t, $1::jsonb AS v", [{ k: "v", n: [1] }]), {
      t: "object",
      v: { k: "v", n: [1] },
    });
    assert.deepEqual(await q("SELECT jsonb_typeof($1::jsonb) AS t, $1::jsonb AS v", [[1, "x", { y: null }]]), {
      t: "array",
      v: [1, "x", { y: null }],
    });
    assert.deepEqual(await q("SELECT $1::jsonb[] AS v", [[{ a: 1 }, '{"b":2}', null]]), {
      v: [{ a: 1 }, { b: 2 }, null],
    });
    assert.deepEqual(await q("SELECT $1::int AS v, $2::jsonb AS j", [undefined, { n: 1n, at: new Date(0) }]), {
      v: null,
      j: { n: "1", at: "1970-01-01T00:00:00.000Z" },
    });
    const bad = await db.query("SELECT $1::jsonb AS v", ["not json"]).catch((e) => e);
    assert.equal(bad.code, "22P02", "a string that is not JSON text is refused, not quoted");

    // Date <-> timestamp (without time zone): the Date's UTC wall-clock time, whatever TZ the process has.
    const when = new Date("2024-05-06T07:08:09.123Z");
    assert.deepEqual(await q("SELECT $1::timestamp AS v, $1::timestamp::text AS t", [when]), {
      v: when,
      t: "2024-05-06 07:08:09.123",
    });
    assert.deepEqual(await q("SELECT $1::timestamptz = '2024-05-06T07:08:09.123Z'::timestamptz AS same", [when]), {
      same: true,
    });
    assert.deepEqual(await q("SELECT $1::date::text AS d", [new Date("2024-05-06T00:00:00Z")]), { d: "2024-05-06" });
    assert.deepEqual(await q("SELECT '2024-01-02 03:04:05.678'::timestamp AS v", []), {
      v: new Date("2024-01-02T03:04:05.678Z"),
    });
    assert.deepEqual(await q("SELECT $1::timestamp[] AS v", [[when, null]]), { v: [when, null] });
    // A string is the text the server parses, for every type: no re-reading in the process's time zone.
    assert.deepEqual(
      await q("SELECT $1::timestamp::text AS t, $2::bool AS b, $3::bytea AS y", [
        "2024-01-02 03:04:05",
        "true",
        "\\x0102",
      ]),
      { t: "2024-01-02 03:04:05", b: true, y: new Uint8Array([1, 2]) },
    );

    // bigint both ways (int8 comes back as a string, exact).
    const big = 9007199254740993n;
    const r = await q("SELECT $1::int8 AS v, $2::int8[] AS a", [big, [big, -1n]]);
    assert.deepEqual(r, { v: "9007199254740993", a: ["9007199254740993", "-1"] });
    assert.equal(BigInt(r.v as string), big);
    // Uint8Array -> bytea, and arrays of them.
    const bytes = new Uint8Array([0, 1, 254, 255]);
    assert.deepEqual(await q("SELECT $1::bytea AS v, $2::bytea[] AS a", [bytes, [bytes, null]]), {
      v: bytes,
      a: [bytes, null],
    });

    // Through a table: written and read back equal.
    await using t = await table(db, "at timestamp, tz timestamptz, doc jsonb, n int8, b bytea, ats timestamp[]");
    await db.query(`INSERT INTO ${t.name} VALUES ($1, $2, $3, $4, $5, $6)`, [
      when,
      when,
      '{"x":1}',
      big,
      bytes,
      [when],
    ]);
    const back = (await db.query(`SELECT * FROM ${t.name}`)).rows[0];
    assert.deepEqual(back, { at: when, tz: when, doc: { x: 1 }, n: "9007199254740993", b: bytes, ats: [when] });
    assert.deepEqual((await db.query(`SELECT at::text AS at FROM ${t.name}`)).rows, [{
      at: "2024-05-06 07:08:09.123",
    }]);
  });
}
