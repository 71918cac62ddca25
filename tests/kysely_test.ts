// @dewey/db/kysely: the suite (tests/kysely_suite.ts) on postgres.js, compared with Kysely on its own `pg` dialect,
// and on PGlite; timestamps under two TZ values; retries through a server restart; the entry's module graph.
import assert from "node:assert/strict";
import { PGlite } from "@electric-sql/pglite";
import { Kysely, PostgresDialect } from "kysely";
import pg from "pg";
import { createDriver as pgliteDriver } from "../adapters/pglite.ts";
import { DatabaseConnection } from "../mod.ts";
import { TEST_URL, testDb } from "./helpers/db.ts";
import { type Database, kyselySuite } from "./kysely_suite.ts";

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
