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

export { DatabaseConnection, getConnection, PooledConnection } from "./src/connection.ts";
export type { ConnectionConfig, DatabaseConnectionOptions } from "./src/connection.ts";
export { DatabaseManager, dbManager } from "./src/manager.ts";
export { Session } from "./src/session.ts";
export type { IsolationLevel, RetryOptions, SessionOptions, SessionState } from "./src/session.ts";
export type { QueryOptions } from "./src/abort.ts";
export { ConfigError, DatabaseConnectionError, PoolTimeoutError, QueryError } from "./src/errors.ts";
export type { ConfigIssue, DatabaseConnectionErrorOptions, ServerErrorFields } from "./src/errors.ts";
export { loadConfig, type LoadConfigOptions } from "./src/config/load.ts";
export { parseConfig, type ParseConfigOptions } from "./src/config/parse.ts";
export { redactUrl } from "./src/config/url.ts";
export type { DatabaseConfig, DriverName, HostPort, SslMode, TargetSessionAttrs } from "./src/config/types.ts";
export { healthHandler } from "./src/health.ts";
export type { HealthHandlerOptions, HealthSnapshot, HealthSource, HealthStatus } from "./src/health.ts";
export { Emitter } from "./src/events.ts";
export type { DatabaseEvent, DatabaseEventMap, DatabaseEventName } from "./src/events.ts";
export { attachLogger, consoleLogger } from "./src/logger.ts";
export type { Logger, LogLevel } from "./src/logger.ts";
export type { PoolStats } from "./src/pool.ts";
export type {
  ConnectionInfo,
  ConnectRequest,
  Driver,
  DriverConnection,
  DriverFactory,
  FieldInfo,
  QueryResult,
  Row,
} from "./src/driver.ts";
export { type DriverLoader, registerDriver } from "./src/registry.ts";
export { Secret } from "./src/redact.ts";
