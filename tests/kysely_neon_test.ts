// The Kysely suite (tests/kysely_suite.ts) on `@dewey/db/edge` with the Neon adapter, through the local WebSocket
// proxy, compared with Kysely on its own `pg` dialect.
import { Kysely, PostgresDialect } from "kysely";
import pg from "pg";
import { TEST_URL } from "./helpers/db.ts";
import { edgeNeonDb } from "./helpers/neon.ts";
import { type Database, kyselySuite } from "./kysely_suite.ts";

kyselySuite("neon (edge entry)", {
  db: (settings) => edgeNeonDb(settings),
  reference: () =>
    new Kysely<Database>({
      dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: TEST_URL, max: 10 }) }),
    }),
  maxConnections: 10,
  cancel: true,
});
