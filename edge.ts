/**
 * `@dewey/db/edge`: the same API for Deno Deploy, Cloudflare Workers and other
 * runtimes without raw TCP or files. PostgreSQL over WebSocket with the Neon
 * serverless driver (`driver: neon`); configuration from a URL or an object
 * plus an `env` record, validated with the same schema as `@dewey/db`. No
 * `node:fs`, `node:net`, postgres.js or YAML parser is pulled in.
 *
 * This entry point is a preset bound to {@linkcode EDGE_RUNTIME}. On Workers,
 * {@linkcode withDatabase} opens a connection per request and closes it with
 * `ctx.waitUntil`; on Deno Deploy a module-level `DatabaseConnection` lives
 * across requests. postgres.js over `cloudflare:sockets` (Hyperdrive) is in
 * `@dewey/db/edge/postgres`: pass its `createDriver` as the `driver` option.
 *
 * @example Cloudflare Workers
 * ```ts ignore
 * import { withDatabase } from "jsr:@dewey/db/edge";
 *
 * export default {
 *   fetch: (req: Request, env: Record<string, unknown>, ctx: ExecutionContext) =>
 *     withDatabase(env, ctx, async (db) => Response.json(await db.sql`SELECT now() AS now`)),
 * };
 * ```
 *
 * @example Deno Deploy
 * ```ts ignore
 * import { DatabaseConnection, healthHandler } from "jsr:@dewey/db/edge";
 *
 * const db = new DatabaseConnection(Deno.env.get("DATABASE_URL")!, { env: Deno.env.toObject() });
 * const healthz = healthHandler(db);
 * export default {
 *   fetch: async (req: Request) =>
 *     new URL(req.url).pathname === "/healthz" ? healthz(req) : Response.json(await db.sql`SELECT 1 AS one`),
 * };
 * ```
 *
 * @module
 */

import { EDGE_RUNTIME } from "./adapters/runtime_edge.ts";
import {
  type ConnectionConfig,
  DatabaseConnectionBase,
  type DatabaseConnectionOptions,
  validated,
} from "./src/database.ts";

export * from "./src/api.ts";
export { ERROR_CODES, type ErrorCode } from "./src/error_codes.ts";
export { parseConfig } from "./src/config/parse.ts";
export { EDGE_RUNTIME };
export { createDriver as createNeonDriver } from "./adapters/neon.ts";
export type { NeonDriverOptions } from "./adapters/neon.ts";
export { withDatabase, type WithDatabaseOptions, workerConfig, type WorkerContext } from "./adapters/workers.ts";

/**
 * A PostgreSQL database on an edge runtime. Creating one does no I/O; the pool
 * opens on first use. Pass the environment for `${VAR}` and `PG*` as
 * `options.env` (the edge has no process environment).
 *
 * @example
 * ```ts ignore
 * import { DatabaseConnection } from "jsr:@dewey/db/edge";
 * const db = new DatabaseConnection(env.DATABASE_URL, { env });
 * ```
 */
export class DatabaseConnection extends DatabaseConnectionBase {
  /** Validates `config` (a parsed config, an object, or a URL) without connecting. Throws `ConfigError`. */
  constructor(config: ConnectionConfig, options: DatabaseConnectionOptions = {}) {
    super(config, { ...options, runtime: options.runtime ?? EDGE_RUNTIME });
  }
}

/**
 * Builds a {@linkcode DatabaseConnection} and proves it connects (one round trip).
 *
 * @example
 * ```ts ignore
 * import { getConnection } from "jsr:@dewey/db/edge";
 * const db = await getConnection(env.DATABASE_URL, { env });
 * ```
 */
export function getConnection(
  config: ConnectionConfig,
  options?: DatabaseConnectionOptions,
): Promise<DatabaseConnection> {
  return validated(new DatabaseConnection(config, options));
}
