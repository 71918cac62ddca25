/**
 * The shape of a validated configuration. Produced by `loadConfig` /
 * `parseConfig`, consumed by the core and the adapters.
 *
 * Keys keep the YAML's snake_case names. Durations are in milliseconds here
 * (the YAML takes seconds or strings like `"500ms"`, `"30s"`, `"5m"`).
 *
 * @module
 */

import type { Secret } from "../redact.ts";

/** libpq's `sslmode`. */
export type SslMode = "disable" | "allow" | "prefer" | "require" | "verify-ca" | "verify-full";

/** libpq's `target_session_attrs`. */
export type TargetSessionAttrs =
  | "any"
  | "read-write"
  | "read-only"
  | "primary"
  | "standby"
  | "prefer-standby";

/** Which adapter talks to the database. */
export type DriverName = "postgres" | "neon" | "pglite";

/** A host and port to dial. */
export interface HostPort {
  /** DNS name or IP address. */
  readonly host: string;
  /** TCP port. */
  readonly port: number;
}

/**
 * A validated, normalised, frozen `database.postgres` configuration. Each
 * key's default, accepted values and meaning are in one table
 * (`src/config/keys.ts`, `src/config/defaults.ts`), rendered as
 * `docs/configuration.md`.
 */
export interface DatabaseConfig {
  /** Adapter: `postgres` (postgres.js over TCP), `neon` (WebSocket), `pglite` (embedded). */
  readonly driver: DriverName;
  /** First host. */
  readonly host: string;
  /** First port. */
  readonly port: number;
  /** Every host:port to try, in order (libpq host lists). */
  readonly hosts: readonly HostPort[];
  /** Database name. */
  readonly dbname: string;
  /** User name. */
  readonly user: string;
  /** Password, hidden from every printout. */
  readonly password?: Secret;
  /** TLS mode. */
  readonly sslmode: SslMode;
  /** Root certificate(s): a file path, inline PEM, or `system`. */
  readonly sslrootcert?: string;
  /** Client certificate: a file path or inline PEM. */
  readonly sslcert?: string;
  /** Client private key: a file path or inline PEM (hidden). */
  readonly sslkey?: Secret;
  /** Passphrase of an encrypted `sslkey` (hidden). */
  readonly sslpassword?: Secret;
  /** `application_name` reported to the server. */
  readonly application_name: string;
  /** Bound on a whole connection attempt (TCP, TLS, startup, auth), ms. */
  readonly connect_timeout: number;
  /** TCP keepalives on. */
  readonly keepalives: boolean;
  /** Idle time before the first keepalive probe, ms. */
  readonly keepalives_idle: number;
  /** Server-side `statement_timeout`, ms. */
  readonly statement_timeout?: number;
  /** Connections opened and kept. */
  readonly pool_min: number;
  /** Connections never exceeded. */
  readonly pool_max: number;
  /** How long a caller waits for a connection, ms. */
  readonly pool_acquire_timeout: number;
  /** Idle connections above `pool_min` close after this, ms; 0 = never. */
  readonly pool_idle_timeout: number;
  /** Connections are retired after this (with jitter), ms; 0 = never. */
  readonly pool_max_lifetime: number;
  /** Validate a connection idle longer than this before checkout, ms; `false` = never. */
  readonly pre_ping: number | false;
  /** Warn when a connection is held longer than this, ms; 0 = off. */
  readonly leak_detection_threshold: number;
  /** How long `close()` waits for checked-out work, ms. */
  readonly close_timeout: number;
  /** Health check period, ms; 0 = off. */
  readonly health_check_interval: number;
  /** Query whose single value is the schema version, checked at each health check. */
  readonly schema_version_query?: string;
  /** First reconnect backoff step, ms. */
  readonly reconnect_backoff_base: number;
  /** Largest reconnect backoff step, ms. */
  readonly reconnect_backoff_max: number;
  /** Named prepared statements (off when `pgbouncer`). */
  readonly prepare: boolean;
  /** Behind a transaction-pooling proxy such as PgBouncer. */
  readonly pgbouncer: boolean;
  /** libpq's `target_session_attrs`. */
  readonly target_session_attrs: TargetSessionAttrs;
  /** libpq's `load_balance_hosts`. */
  readonly load_balance_hosts: "disable" | "random";
  /** Read replicas for read-only work. */
  readonly replicas: readonly HostPort[];
  /** Skip replicas further behind than this, ms; unset = no bound. */
  readonly max_replica_lag?: number;
  /** Neon adapter: WebSocket-to-TCP proxy, `host:port/path` or a URL. */
  readonly ws_proxy?: string;
  /** Neon adapter: send autocommit queries over HTTP (one-shot) instead of WebSocket. */
  readonly neon_http: boolean;
  /** PGlite adapter: data directory; in memory when unset. */
  readonly data_dir?: string;
  /** Where each key's value came from: `config/dewey.yaml:4`, `env DB_HOST`, `DATABASE_URL`, `PGPORT`, `default`. */
  readonly sources: Readonly<Record<string, string>>;
}
