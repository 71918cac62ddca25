/**
 * @dewey/db: a production-grade PostgreSQL connection layer for Deno and Node
 * (postgres.js over TCP), with an embedded PGlite for demos and tests. For
 * Deno Deploy and Cloudflare Workers use `@dewey/db/edge`.
 *
 * @example Query, then a transaction
 * ```ts ignore
 * import { getConnection } from "jsr:@dewey/db";
 *
 * const db = await getConnection("postgres://app@localhost:5432/app");
 * const { rows } = await db.query("SELECT $1::int AS n", [1]);
 * await db.getSession(async (session) => {
 *   await session.sql`INSERT INTO events (kind) VALUES (${"signup"})`;
 * });
 * await db.close();
 * ```
 *
 * @module
 */

import "./adapters/runtime.ts";
import { extend } from "./src/extensions.ts";
import { registerDriver } from "./src/registry.ts";

// Optional parts of the core that the edge entry leaves out, loaded when a configuration first needs them.
extend({ load: { hostList: () => import("./src/connector.ts"), replicas: () => import("./src/replicas.ts") } });

registerDriver("postgres", async () => (await import("./adapters/postgres.ts")).createDriver);
registerDriver("pglite", async () => (await import("./adapters/pglite.ts")).createDriver);
registerDriver("neon", async () => (await import("./adapters/neon.ts")).createDriver);

export * from "./src/api.ts";
export { DatabaseManager, dbManager } from "./src/manager.ts";
export { loadConfig, type LoadConfigOptions } from "./src/config/load.ts";
