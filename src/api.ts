/**
 * The public API both entry points share: `@dewey/db` (Deno, Node) adds
 * `loadConfig` and `dbManager`, `@dewey/db/edge` adds the Workers helpers.
 *
 * @module
 */

export { DatabaseConnection, getConnection } from "./connection.ts";
export { PooledConnection } from "./pooled_connection.ts";
export type { ConnectionConfig, DatabaseConnectionOptions } from "./connection.ts";
export { Session } from "./session.ts";
export type { IsolationLevel, RetryOptions, SessionOptions, SessionState } from "./session.ts";
export type { QueryOptions } from "./abort.ts";
export { ConfigError, DatabaseConnectionError, PoolTimeoutError, QueryError } from "./errors.ts";
export type { ConfigIssue, DatabaseConnectionErrorOptions, ServerErrorFields } from "./errors.ts";
export { parseConfig, type ParseConfigOptions } from "./config/parse.ts";
export { redactUrl } from "./config/url.ts";
export type { DatabaseConfig, DriverName, HostPort, SslMode, TargetSessionAttrs } from "./config/types.ts";
export { healthHandler } from "./health.ts";
export type { HealthHandlerOptions, HealthSnapshot, HealthSource, HealthStatus } from "./health.ts";
export { Emitter } from "./events.ts";
export type { DatabaseEvent, DatabaseEventMap, DatabaseEventName } from "./events.ts";
export { attachLogger, consoleLogger } from "./logger.ts";
export type { Logger, LogLevel } from "./logger.ts";
export type { PoolStats } from "./pool.ts";
export type {
  ConnectionInfo,
  ConnectRequest,
  Driver,
  DriverConnection,
  DriverFactory,
  FieldInfo,
  QueryResult,
  Row,
} from "./driver.ts";
export { type DriverLoader, registerDriver } from "./registry.ts";
export { Secret } from "./redact.ts";
