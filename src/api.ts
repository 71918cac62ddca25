/**
 * The public API both entry points share. Each entry point adds its preset
 * (`DatabaseConnection`, `getConnection`, `parseConfig` bound to its runtime):
 * `@dewey/db` also `loadConfig` and `dbManager`, `@dewey/db/edge` the Workers helpers.
 *
 * @module
 */

export { DatabaseConnectionBase, validated } from "./database.ts";
export type { ConnectionConfig, DatabaseConnectionOptions } from "./database.ts";
export { PooledConnection } from "./pooled_connection.ts";
export { Cursor } from "./cursor.ts";
export type { CursorOptions } from "./cursor.ts";
export type { CopyOptions, CopyResult, CopySource } from "./copy.ts";
export type { NotificationHandler, NotificationInfo, Subscription } from "./listen.ts";
export { Session } from "./session.ts";
export type { IsolationLevel, RetryOptions, SessionOptions, SessionState } from "./session.ts";
export type { QueryOptions } from "./abort.ts";
export {
  ConfigError,
  DatabaseConnectionError,
  NotSupportedError,
  PoolTimeoutError,
  QueryCancelledError,
  QueryError,
} from "./errors.ts";
export type {
  CancelPhase,
  ConfigIssue,
  DatabaseConnectionErrorOptions,
  QueryCancelledErrorOptions,
  ServerErrorFields,
} from "./errors.ts";
export type { ParseConfigOptions } from "./config/parse.ts";
export { redactUrl } from "./config/url.ts";
export type {
  ChannelBinding,
  DatabaseConfig,
  DriverName,
  HostPort,
  SslMode,
  TargetSessionAttrs,
  TlsVersion,
} from "./config/types.ts";
export type { LibpqFiles, PasswordLookup, ServiceSettings } from "./config/libpq_files.ts";
export type { PgpassTarget } from "./config/pgpass.ts";
export { healthHandler } from "./health.ts";
export type { HealthHandlerOptions, HealthSnapshot, HealthSource } from "./health.ts";
export { Emitter } from "./events.ts";
export type { DatabaseEvent, DatabaseEventMap, DatabaseEventName } from "./events.ts";
export { attachLogger, consoleLogger } from "./logger.ts";
export type { Logger, LogLevel } from "./logger.ts";
export type { SqlTag } from "./sql.ts";
export type {
  ConnectionInfo,
  Connector,
  ConnectorOptions,
  ConnectRequest,
  ConnectTrace,
  Driver,
  DriverConnection,
  DriverCopyOut,
  DriverCursor,
  DriverCursorOptions,
  DriverFactory,
  DriverLoader,
  FieldInfo,
  FileInfo,
  HealthStatus,
  HostListConnector,
  Instrumentation,
  InstrumentedDatabase,
  Platform,
  PoolStats,
  QueryMode,
  QueryResult,
  ReplicaHealth,
  ReplicaRouterFactory,
  Router,
  RouterOptions,
  Row,
  ScopeStorage,
  ServerNotification,
  SessionTrace,
  StatementTrace,
  Telemetry,
  TracedWork,
} from "./contracts.ts";
export type { Runtime } from "./runtime.ts";
export { Secret } from "./redact.ts";
