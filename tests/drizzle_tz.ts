// Child of tests/drizzle_test.ts, run with another TZ: the time cases on Drizzle over @dewey/db and on Drizzle's
// postgres-js driver. Prints the TZ and its offset, then what both read (as JSON) once they agree and pass the checks.
import assert from "node:assert/strict";
import { drizzle as drizzlePostgresJs } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import { drizzle } from "../integrations/drizzle.ts";
import { checkTimes, type Db, reset, schema, timeRoundTrip } from "./drizzle_cases.ts";
import { TEST_URL, testDb } from "./helpers/db.ts";

await using conn = testDb({ pool_max: 2 });
const client = postgres(TEST_URL, { max: 1, onnotice: () => {}, idle_timeout: 0 });
try {
  const ours = drizzle(conn, { schema }) as unknown as Db;
  const theirs = drizzlePostgresJs(client, { schema }) as unknown as Db;
  await reset(theirs);
  const expected = await timeRoundTrip(theirs);
  await reset(ours);
  const actual = await timeRoundTrip(ours);
  checkTimes(actual);
  assert.deepEqual(actual, expected);
  console.log(JSON.stringify({ tz: Deno.env.get("TZ"), offset: new Date("2024-03-10T12:00:00Z").getTimezoneOffset() }));
  console.log(JSON.stringify(actual));
} finally {
  await client.end();
}
