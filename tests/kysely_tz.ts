// Run by tests/kysely_test.ts in a child process with TZ set: the same timestamps through Kysely on @dewey/db and
// on Kysely's `pg` dialect; prints what each read back and what the server stored, as JSON.
import { Kysely, PostgresDialect, sql } from "kysely";
import pg from "pg";
import { DeweyDialect } from "../integrations/kysely.ts";
import { TEST_URL, testDb } from "./helpers/db.ts";

const AT = new Date("2024-03-10T01:59:59.123Z");
const dewey = new Kysely<Record<string, never>>({ dialect: new DeweyDialect({ db: testDb() }) });
const ref = new Kysely<Record<string, never>>({
  dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: TEST_URL, max: 1 }) }),
});

async function read(k: Kysely<Record<string, never>>) {
  return await k.connection().execute(async (c) => {
    await sql`create temp table ky_tz (tz timestamptz, ts timestamp, d date)`.execute(c);
    await sql`insert into ky_tz values (${AT}, ${AT}, ${AT})`.execute(c);
    const { rows: [row] } = await sql<Record<string, Date | string>>`select tz, ts, d,
      to_char(tz at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.MS') as tz_utc, ts::text as ts_text, d::text as d_text,
      '2024-01-02 03:04:05'::timestamp as literal from ky_tz`.execute(c);
    await sql`drop table ky_tz`.execute(c);
    return Object.fromEntries(Object.entries(row).map(([k, v]) => [k, v instanceof Date ? v.toISOString() : v]));
  });
}

try {
  console.log(JSON.stringify({ dewey: await read(dewey), pg: await read(ref) }));
} finally {
  await dewey.destroy();
  await ref.destroy();
}
