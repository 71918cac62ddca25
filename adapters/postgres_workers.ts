/**
 * The postgres.js adapter on Cloudflare Workers: raw TCP through
 * `cloudflare:sockets` (postgres.js's `workerd` build), for a database reached
 * directly or through Hyperdrive. Needs the `nodejs_compat` compatibility flag
 * and a bundler that applies the `workerd` export condition (wrangler does).
 * Pass it as the `driver` option (or add it to a runtime's `drivers`).
 *
 * @example
 * ```ts ignore
 * import { withDatabase } from "jsr:@dewey/db/edge";
 * import { createDriver } from "jsr:@dewey/db/edge/postgres";
 *
 * export default {
 *   fetch: (req: Request, env: { HYPERDRIVE: Hyperdrive }, ctx: ExecutionContext) =>
 *     withDatabase(env, ctx, async (db) => Response.json(await db.sql`SELECT 1 AS one`), {
 *       binding: "HYPERDRIVE",
 *       driver: createDriver,
 *     }),
 * };
 * ```
 *
 * @module
 */

import type { DatabaseConfig } from "../src/config/types.ts";
import type { Driver } from "../src/contracts.ts";
import { createDriver as createPostgresDriver } from "./postgres.ts";

/**
 * Creates the postgres.js driver that dials with postgres.js's own
 * `cloudflare:sockets` build instead of `node:net`.
 *
 * @example
 * ```ts ignore
 * import { DatabaseConnection } from "jsr:@dewey/db/edge";
 * import { createDriver } from "jsr:@dewey/db/edge/postgres";
 * const db = new DatabaseConnection(env.DATABASE_URL, { driver: createDriver });
 * ```
 */
export function createDriver(config: DatabaseConfig): Driver | Promise<Driver> {
  return createPostgresDriver(config, { socket: null });
}
