// What the core does with an adapter that has none of the optional capabilities (the fake driver): COPY and LISTEN
// fail with NotSupportedError naming the adapter, before anything is sent, and give the connection back; a cursor
// falls back to a SQL cursor in its own transaction.
import assert from "node:assert/strict";
import { DatabaseConnectionBase } from "../src/database.ts";
import { NotSupportedError } from "../src/errors.ts";
import { FakeDriver } from "./helpers/fake_driver.ts";

function fakeDb(driver: FakeDriver): DatabaseConnectionBase {
  return new DatabaseConnectionBase({ postgres: { host: "fake", health_check_interval: 0, pool_max: 1 } }, {
    driver,
    logger: false,
  });
}

Deno.test("an adapter without COPY or notifications: NotSupportedError naming it; nothing sent", async () => {
  const driver = new FakeDriver();
  await using db = fakeDb(driver);
  const isNotSupported = (feature: RegExp) => (e: unknown) =>
    e instanceof NotSupportedError && e.code === "NOT_SUPPORTED" && e.adapter === "fake" && feature.test(e.message);
  await assert.rejects(db.copyFrom("COPY t FROM STDIN", "1\n"), isNotSupported(/COPY FROM STDIN/));
  await assert.rejects(new Response(db.copyTo("COPY t TO STDOUT")).text(), isNotSupported(/COPY TO STDOUT/));
  await assert.rejects(db.listen("jobs", () => {}), isNotSupported(/LISTEN/));
  assert.deepEqual(driver.calls.filter((c) => /COPY|LISTEN/.test(c.text)), []);
  assert.equal(db.stats().inUse, 0);
});

Deno.test("an adapter without a protocol cursor: a SQL cursor in its own transaction, closed and committed", async () => {
  const driver = new FakeDriver();
  await using db = fakeDb(driver);
  const batches = [];
  for await (const rows of db.cursor("SELECT x FROM t WHERE y = $1", [7], { batchSize: 2 })) batches.push(rows);
  assert.equal(batches.length, 1); // the fake answers one row: fewer than a batch, so the cursor is done
  const texts = driver.calls.map((c) => c.text.replace(/dewey_cursor_\w+/, "C"));
  assert.deepEqual(texts.slice(-5), [
    "BEGIN",
    "DECLARE C NO SCROLL CURSOR FOR SELECT x FROM t WHERE y = $1",
    "FETCH FORWARD 2 FROM C",
    "CLOSE C",
    "COMMIT",
  ]);
  assert.deepEqual(driver.calls.find((c) => c.text.startsWith("DECLARE"))?.params, [7]);
  assert.equal(db.stats().inUse, 0);
});
