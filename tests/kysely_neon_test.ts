// The Kysely suite (tests/kysely_suite.ts) on `@dewey/db/edge` with the Neon adapter, through the local WebSocket
// proxy, compared with Kysely on its own `pg` dialect.
import { Kysely, PostgresDialect } from "kysely";
import pg from "pg";
import { serveWsProxy } from "../adapters/wsproxy.ts";
import { DatabaseConnection } from "../edge.ts";
import { TEST_URL } from "./helpers/db.ts";
import { testTarget } from "./helpers/neon.ts";
import { type Database, kyselySuite } from "./kysely_suite.ts";

kyselySuite("neon (edge entry)", {
  db(settings) {
    const proxy = serveWsProxy({ target: { host: testTarget().host, port: testTarget().port }, port: 0 });
    const db = new DatabaseConnection({
      postgres: { driver: "neon", ...testTarget(), ws_proxy: proxy.wsProxy, health_check_interval: 0, ...settings },
    }, { logger: false });
    const close = db.close.bind(db);
    db.close = () => close().finally(() => proxy.close());
    return db;
  },
  reference: () =>
    new Kysely<Database>({
      dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: TEST_URL, max: 10 }) }),
    }),
  maxConnections: 10,
  cancel: true,
});
