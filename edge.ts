/**
 * `@dewey/db/edge`: the same API for Deno Deploy, Cloudflare Workers and other
 * runtimes without raw TCP or files. PostgreSQL over WebSocket with the Neon
 * serverless driver (`driver: neon`); configuration from a URL or an object
 * plus an `env` record, validated with the same schema as `@dewey/db`. No
 * `node:fs`, `node:net`, postgres.js or YAML parser is pulled in.
 *
 * On Workers, {@linkcode withDatabase} opens a connection per request and
 * closes it with `ctx.waitUntil`; on Deno Deploy a module-level
 * `DatabaseConnection` lives across requests. postgres.js over
 * `cloudflare:sockets` (Hyperdrive) is in `@dewey/db/edge/postgres`.
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

import { createDriver as createNeonDriver } from "./adapters/neon.ts";
import { platform, type ScopeStorage, setPlatform } from "./src/platform.ts";
import { registerDriver } from "./src/registry.ts";

registerDriver("neon", () => createNeonDriver);

// Scoped sessions (`db.query` inside a `getSession` callback joining that session) need AsyncLocalStorage: Deno
// Deploy has it, Workers with the nodejs_als or nodejs_compat flag too. Loaded now, not at the first session, so the
// first request is scoped like the others; where the import fails, sessions work unscoped, as `withDatabase` says.
if (!platform.createScope) {
  let Storage: (new <T>() => ScopeStorage<T>) | undefined;
  import("node:async_hooks").then((m) => Storage = m.AsyncLocalStorage, () => {});
  setPlatform({ createScope: () => Storage && new Storage() });
}

export { createNeonDriver };
export type { NeonDriverOptions } from "./adapters/neon.ts";
export { withDatabase, type WithDatabaseOptions, workerConfig, type WorkerContext } from "./adapters/workers.ts";
export * from "./src/api.ts";
