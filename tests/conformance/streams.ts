/**
 * Conformance: cursors and COPY, on the database, in sessions and on engine
 * connections: complete runs, early exits, errors in the middle, aborts, and
 * the connection given back clean every time.
 *
 * @module
 */

import assert from "node:assert/strict";
import { DatabaseConnectionError, QueryCancelledError, QueryError } from "../../src/errors.ts";
import type { Conformance } from "./suite.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Registers the cursor and COPY tests. */
export function streamTests({ name, caps, test, open, table }: Conformance): void {
  test("cursors: batches in order with fields and modes; the connection comes back", async () => {
    await using db = await open({ pool_max: 1 });
    const sizes: number[] = [];
    let sum = 0;
    const cursor = db.cursor<{ x: number; y: number }>("SELECT x, x * 2 AS y FROM generate_series(1, 2500) x", [], {
      batchSize: 1000,
    });
    for await (const rows of cursor) {
      sizes.push(rows.length);
      for (const row of rows) sum += row.y - row.x;
    }
    assert.deepEqual(sizes, [1000, 1000, 500]);
    assert.equal(sum, 2500 * 2501 / 2);
    assert.deepEqual(cursor.fields.map((f) => [f.name, f.dataTypeID]), [["x", 23], ["y", 23]]);
    assert.throws(() => cursor[Symbol.asyncIterator](), TypeError, "a cursor is iterated once");
    const batches = [];
    for await (
      const rows of db.cursor("SELECT x, x AS x FROM generate_series(1, $1::int) x", [25], {
        batchSize: 10,
        rowMode: "array",
      })
    ) batches.push(rows);
    assert.deepEqual(batches.map((b) => b.length), [10, 10, 5]);
    assert.deepEqual(batches[2].at(-1), [25, 25]);
    for await (const _ of db.cursor("SELECT 1 WHERE false")) assert.fail("no batch for an empty result");
    assert.throws(() => db.cursor("SELECT 1", [], { batchSize: 0 }), TypeError);
    assert.equal(db.stats().inUse, 0);
    assert.deepEqual((await db.query("SELECT 1 AS one")).rows, [{ one: 1 }]);
    assert.equal(db.stats().opened, 1);
  });

  test("cursors: break, a throw in the loop and close() end the cursor; the connection stays usable", async () => {
    await using db = await open({ pool_max: 1 });
    const text = "SELECT x FROM generate_series(1, 5000) x";
    for await (const rows of db.cursor(text, [], { batchSize: 100 })) {
      assert.equal(rows.length, 100);
      break;
    }
    assert.equal(db.stats().inUse, 0);
    const thrown = await (async () => {
      for await (const _ of db.cursor(text, [], { batchSize: 100 })) throw new Error("stop here");
    })().catch((e) => e);
    assert.equal(thrown.message, "stop here");
    {
      await using cursor = db.cursor(text, [], { batchSize: 100 });
      const it = cursor[Symbol.asyncIterator]();
      assert.equal((await it.next()).value?.length, 100);
    }
    assert.equal(db.stats().inUse, 0);
    assert.deepEqual((await db.query("SELECT count(*)::int AS n FROM generate_series(1, 3)")).rows, [{ n: 3 }]);
    assert.equal(db.stats().opened, 1, "the connection was reused, not replaced");
  });

  test("cursors: an error mid-stream rejects after the batches before it; the connection stays usable", async () => {
    await using db = await open({ pool_max: 1 });
    const seen: number[] = [];
    const err = await (async () => {
      for await (
        const rows of db.cursor("SELECT 1 / (x - 1500) AS q FROM generate_series(1, 3000) x", [], {
          batchSize: 1000,
        })
      ) seen.push(rows.length);
    })().catch((e) => e);
    assert.ok(err instanceof QueryError, String(err));
    assert.equal(err.code, "22012");
    assert.deepEqual(seen, [1000]);
    assert.equal(db.stats().inUse, 0);
    assert.deepEqual((await db.query("SELECT 2 AS two")).rows, [{ two: 2 }]);
    // The same failure outside a cursor: the next result on the connection is whole, not offset by the rows before.
    const plain = await db.query("SELECT 1 / (x - 1500) AS q FROM generate_series(1, 3000) x").catch((e) => e);
    assert.equal(plain.code, "22012");
    assert.deepEqual((await db.query("SELECT 3 AS three")).rows, [{ three: 3 }]);
    for await (const rows of db.cursor("SELECT 4 AS four")) assert.deepEqual(rows, [{ four: 4 }]);
  });

  test("cursors: an aborted signal ends the loop and gives the connection back", async () => {
    await using db = await open({ pool_max: 1 });
    const between = new AbortController();
    let batches = 0;
    const err = await (async () => {
      for await (
        const _ of db.cursor("SELECT x FROM generate_series(1, 5000) x", [], {
          batchSize: 100,
          signal: between.signal,
        })
      ) {
        if (++batches === 2) between.abort(new Error("enough"));
      }
    })().catch((e) => e);
    assert.ok(err instanceof QueryCancelledError && err.code === "QUERY_ABORTED", String(err));
    assert.match(err.message, /enough/);
    assert.equal(batches, 2);
    if (caps.cancel) {
      // Aborted while a batch is being computed: the server cancels it.
      const inFlight = new AbortController();
      const started = performance.now();
      const cancelled = await (async () => {
        for await (
          const _ of db.cursor("SELECT pg_sleep(CASE WHEN x = 2 THEN 10 ELSE 0 END) FROM generate_series(1, 3) x", [], {
            batchSize: 1,
            signal: inFlight.signal,
          })
        ) setTimeout(() => inFlight.abort(new Error("gave up")), 100);
      })().catch((e) => e);
      assert.ok(performance.now() - started < 8000, "the cancelled batch did not run to its end");
      assert.ok(cancelled instanceof QueryCancelledError && cancelled.reachedServer, String(cancelled));
      assert.equal(cancelled.code, "QUERY_ABORTED");
      assert.match(cancelled.message, /gave up/);
      assert.equal((cancelled.cause as QueryError).code, "57014");
    }
    const early = await (async () => {
      for await (const _ of db.cursor("SELECT 1", [], { signal: AbortSignal.abort(new Error("before")) })) {
        assert.fail("no batch after an abort");
      }
    })().catch((e) => e);
    assert.ok(early instanceof QueryCancelledError && early.phase === "queued", String(early));
    assert.match(early.message, /before/);
    assert.equal(db.stats().inUse, 0);
    assert.deepEqual((await db.query("SELECT 3 AS three")).rows, [{ three: 3 }]);
  });

  test("cursors in a session see its writes and let its statements run between batches", async () => {
    await using db = await open({ pool_max: 1 });
    await using t = await table(db, "id int, state text");
    await db.getSession(async (s) => {
      await s.query(`INSERT INTO ${t.name} SELECT x, 'new' FROM generate_series(1, 25) x`);
      let n = 0;
      for await (
        const rows of s.cursor<{ id: number }>(`SELECT id FROM ${t.name} ORDER BY id`, [], { batchSize: 10 })
      ) {
        n += rows.length;
        await s.query(`UPDATE ${t.name} SET state = 'seen' WHERE id = ANY($1)`, [rows.map((r) => r.id)]);
      }
      assert.equal(n, 25);
      if (caps.scopedSessions) {
        // db.cursor inside the callback joins the session too.
        let m = 0;
        for await (const rows of db.cursor(`SELECT id FROM ${t.name} WHERE state = 'seen'`)) m += rows.length;
        assert.equal(m, 25);
      }
    });
    assert.equal(await t.count("state = 'seen'"), 25);
    const failed = await db.getSession(async (s) => {
      for await (const _ of s.cursor("SELECT 1 / 0")) assert.fail("no rows");
    }).catch((e) => e);
    assert.equal(failed.code, "22012");
    assert.equal(db.stats().inUse, 0);
  });

  test("cursors on an engine connection: other statements on it fail fast until the loop ends", async () => {
    await using db = await open({ pool_max: 1 });
    await using conn = await db.engine.connect();
    let busy: unknown;
    for await (const rows of conn.cursor("SELECT x FROM generate_series(1, 30) x", [], { batchSize: 10 })) {
      busy ??= await conn.query("SELECT 1").catch((e) => e);
      assert.equal(rows.length, 10);
    }
    assert.ok(busy instanceof DatabaseConnectionError && busy.code === "CONNECTION_BUSY", String(busy));
    assert.deepEqual((await conn.query("SELECT 4 AS four")).rows, [{ four: 4 }]);
  });

  test("COPY FROM a string, an async iterable and a ReadableStream; COPY TO gives the rows back", async () => {
    await using db = await open({ pool_max: 1 });
    await using t = await table(db, "id int, name text");
    const copy = `COPY ${t.name} (id, name) FROM STDIN (FORMAT csv)`;
    assert.deepEqual(await db.copyFrom(copy, '1,pen\n2,"ink, blue"\n'), { rowCount: 2 });
    async function* lines() {
      for (let i = 3; i <= 1002; i++) yield i % 2 ? `${i},odd\n` : new TextEncoder().encode(`${i},even\n`);
    }
    assert.deepEqual(await db.copyFrom(copy, lines()), { rowCount: 1000 });
    const stream = new ReadableStream<string>({
      start(c) {
        c.enqueue("1003,héllo wörld ");
        c.enqueue("✓\n");
        c.close();
      },
    });
    assert.deepEqual(await db.copyFrom(copy, stream), { rowCount: 1 });
    assert.equal(await t.count(), 1003);
    const out = await new Response(
      db.copyTo(`COPY (SELECT * FROM ${t.name} WHERE id IN (2, 1003) ORDER BY id) TO STDOUT (FORMAT csv)`),
    ).text();
    assert.equal(out, '2,"ink, blue"\n1003,héllo wörld ✓\n');
    const all = await new Response(db.copyTo(`COPY ${t.name} TO STDOUT`)).text();
    assert.equal(all.split("\n").length, 1004);
    assert.equal(db.stats().inUse, 0);
    assert.equal(db.stats().opened, 1);
  });

  test("COPY FROM: a bad row, a failing source and an abort copy nothing; the connection stays usable", async () => {
    await using db = await open({ pool_max: 1 });
    await using t = await table(db, "id int, name text");
    const copy = `COPY ${t.name} (id, name) FROM STDIN (FORMAT csv)`;
    const badRow = await db.copyFrom(copy, "1,a\nnot a number,b\n").catch((e) => e);
    assert.ok(badRow instanceof QueryError && badRow.code === "22P02", String(badRow));
    const broken = new Error("source broke");
    async function* failing() {
      yield "1,a\n2,b\n";
      throw broken;
    }
    assert.equal(await db.copyFrom(copy, failing()).catch((e) => e), broken);
    const erroring = new ReadableStream({
      pull(c) {
        c.enqueue(new TextEncoder().encode("3,c\n"));
        c.error(broken);
      },
    });
    assert.equal(await db.copyFrom(copy, erroring).catch((e) => e), broken);
    const ctl = new AbortController();
    async function* stalled() {
      yield "4,d\n";
      setTimeout(() => ctl.abort(new Error("took too long")), 50);
      await new Promise(() => {}); // never yields again
    }
    const aborted = await db.copyFrom(copy, stalled(), { signal: ctl.signal }).catch((e) => e);
    assert.ok(aborted instanceof QueryCancelledError && aborted.code === "QUERY_ABORTED", String(aborted));
    assert.match(aborted.message, /took too long/);
    assert.equal(aborted.phase, "running");
    assert.ok((await db.copyFrom("SELECT 1", "1,a\n").catch((e) => e)) instanceof TypeError);
    await assert.rejects(db.copyFrom(copy, 42 as unknown as string), TypeError);
    assert.equal(await t.count(), 0);
    assert.equal(db.stats().inUse, 0);
    assert.deepEqual((await db.query("SELECT 5 AS five")).rows, [{ five: 5 }]);
    assert.equal(db.stats().opened, 1, "the connection was reused, not replaced");
  });

  test("COPY TO: a failing query errors the stream; a cancel gives the connection back", async () => {
    await using db = await open({ pool_max: 1, application_name: `dewey_copy_${name}_${Deno.pid}` });
    const failing = await new Response(
      db.copyTo("COPY (SELECT 1 / (x - 5000) FROM generate_series(1, 10000) x) TO STDOUT"),
    )
      .text().catch((e) => e);
    assert.ok(failing instanceof QueryError && failing.code === "22012", String(failing));
    const big = db.copyTo("COPY (SELECT repeat('x', 1000) FROM generate_series(1, 100000)) TO STDOUT");
    const reader = big.getReader();
    assert.ok(((await reader.read()).value?.length ?? 0) > 0);
    if (caps.copyBackpressure.to) {
      // Nothing more is read: the server waits to write to the client instead of the process buffering ~100 MB.
      await using watcher = await open();
      await sleep(300);
      const { rows } = await watcher.query(
        "SELECT state, wait_event FROM pg_stat_activity WHERE application_name = $1",
        [`dewey_copy_${name}_${Deno.pid}`],
      );
      assert.deepEqual(rows, [{ state: "active", wait_event: "ClientWrite" }]);
    }
    await reader.cancel();
    assert.equal(db.stats().inUse, 0);
    assert.deepEqual((await db.query("SELECT 6 AS six")).rows, [{ six: 6 }]);
    // Again, several times: the end of a COPY may come in the very chunk that filled the reader's buffer, and the
    // next statement on the connection must still be answered.
    for (let i = 0; i < 4; i++) {
      const again = db.copyTo("COPY (SELECT repeat('x', 1000) FROM generate_series(1, 20000)) TO STDOUT").getReader();
      await again.read();
      await sleep(20);
      await again.cancel();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const stuck = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error("the connection no longer answers")), 5000);
      });
      try {
        assert.deepEqual((await Promise.race([db.query("SELECT $1::int AS i", [i]), stuck])).rows, [{ i }]);
      } finally {
        clearTimeout(timer);
      }
    }
    assert.ok((await new Response(db.copyTo("SELECT 1")).text().catch((e) => e)) instanceof TypeError);
  });

  if (caps.copyBackpressure.from) {
    test("COPY FROM reads its source no faster than the server takes the data", async () => {
      const app = `dewey_copyin_${name}_${Deno.pid}`;
      await using db = await open({ pool_max: 1, application_name: app });
      await using watcher = await open();
      await using t = await table(db, "id int, body text");
      // A slow consumer: every row waits 1 ms in a trigger, ~10 MB/s of 10 kB rows.
      await watcher.query(`CREATE FUNCTION ${t.name}_slow() RETURNS trigger LANGUAGE plpgsql AS
        $$ BEGIN PERFORM pg_sleep(0.001); RETURN NEW; END $$`);
      await watcher.query(
        `CREATE TRIGGER slow BEFORE INSERT ON ${t.name} FOR EACH ROW EXECUTE FUNCTION ${t.name}_slow()`,
      );
      const row = "x".repeat(10_000);
      let pulled = 0;
      const ctl = new AbortController();
      async function* rows() {
        for (let i = 0; i < 200; i++) { // 1 MB chunks, 200 MB if nothing held it back
          let chunk = "";
          for (let j = 0; j < 100; j++) chunk += `${i * 100 + j},${row}\n`;
          pulled += chunk.length;
          yield chunk;
        }
      }
      const copying = db.copyFrom(`COPY ${t.name} (id, body) FROM STDIN (FORMAT csv)`, rows(), { signal: ctl.signal });
      copying.catch(() => {});
      await sleep(1500);
      const { rows: [progress] } = await watcher.query<{ done: string }>(
        "SELECT bytes_processed::text AS done FROM pg_stat_progress_copy p JOIN pg_stat_activity a USING (pid) " +
          "WHERE a.application_name = $1",
        [app],
      );
      const processed = Number(progress?.done ?? 0);
      ctl.abort(new Error("enough"));
      const aborted = await copying.catch((e) => e);
      assert.ok(aborted instanceof QueryCancelledError && aborted.reachedServer, String(aborted));
      assert.match(aborted.message, /enough/);
      assert.ok(processed > 0, "the server was copying");
      // What was pulled and not yet processed sits in socket buffers: megabytes, not the whole source.
      assert.ok(pulled - processed < 32 * 1024 * 1024, `pulled ${pulled} B while the server had ${processed} B`);
      assert.ok(pulled < 100 * 1024 * 1024, `pulled ${pulled} B of 200 MB in 1.5 s`);
      await watcher.query(`DROP FUNCTION ${t.name}_slow() CASCADE`);
      assert.equal(await t.count(), 0);
    });
  }

  test("COPY in a session joins its transaction", async () => {
    await using db = await open({ pool_max: 1 });
    await using t = await table(db, "id int");
    await assert.rejects(
      db.getSession(async (s) => {
        assert.deepEqual(await s.copyFrom(`COPY ${t.name} FROM STDIN`, "1\n2\n"), { rowCount: 2 });
        assert.equal(await new Response(s.copyTo(`COPY ${t.name} TO STDOUT`)).text(), "1\n2\n");
        throw new Error("roll back");
      }),
      /roll back/,
    );
    assert.equal(await t.count(), 0);
    await db.getSession(async (s) => void await s.copyFrom(`COPY ${t.name} FROM STDIN`, "3\n"));
    assert.equal(await t.count(), 1);
    {
      await using conn = await db.engine.connect();
      assert.deepEqual(await conn.copyFrom(`COPY ${t.name} FROM STDIN`, "4\n"), { rowCount: 1 });
      assert.equal(await new Response(conn.copyTo(`COPY ${t.name} TO STDOUT`)).text(), "3\n4\n");
    }
  });
}
