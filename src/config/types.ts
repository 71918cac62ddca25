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

/** libpq's `channel_binding`. */
export type ChannelBinding = "disable" | "prefer" | "require";

/** A TLS protocol version, as libpq's `ssl_min_protocol_version` names it. */
export type TlsVersion = "TLSv1" | "TLSv1.1" | "TLSv1.2" | "TLSv1.3";

/** A host and port to dial. */
export interface HostPort {
  /** DNS name, IP address, or Unix-socket directory (a path starting with `/`). */
  readonly host: string;
  /** TCP port (for a socket directory, the number in the socket's name). */
  readonly port: number;
  /** libpq's `hostaddr`: the IP address to dial instead of resolving `host`, which TLS still verifies. */
  readonly address?: string;
  /** The password a password file gave for this host, when it differs from `DatabaseConfig.password`. */
  readonly password?: Secret;
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
  /** libpq's `hostaddr`: an IP address per host, dialled instead of resolving its name. */
  readonly hostaddr?: readonly string[];
  /** The password file read (`passfile`, `PGPASSFILE` or `~/.pgpass`), when one was. */
  readonly passfile?: string;
  /** The service whose settings were read from a service file. */
  readonly service?: string;
  /** SCRAM channel binding: `prefer` uses it over TLS when the server offers it, `require` insists. */
  readonly channel_binding: ChannelBinding;
  /** libpq 16's `require_auth`: the authentication methods the server may ask for (`scram-sha-256`, `!password`). */
  readonly require_auth?: string;
  /** TLS mode. */
  readonly sslmode: SslMode;
  /** `postgres` asks the server for TLS first; `direct` starts TLS at once (PostgreSQL 17). */
  readonly sslnegotiation: "postgres" | "direct";
  /** Root certificate(s): a file path, inline PEM, or `system`. */
  readonly sslrootcert?: string;
  /** Client certificate: a file path or inline PEM. */
  readonly sslcert?: string;
  /** Client private key: a file path or inline PEM (hidden). */
  readonly sslkey?: Secret;
  /** Passphrase of an encrypted `sslkey` (hidden). */
  readonly sslpassword?: Secret;
  /** `disable`: never present `sslcert`; `allow`: present it when configured. */
  readonly sslcertmode: "disable" | "allow";
  /** Certificate revocation list: a file or inline PEM. */
  readonly sslcrl?: string;
  /** A directory of certificate revocation lists. */
  readonly sslcrldir?: string;
  /** Send the host name in TLS's SNI. */
  readonly sslsni: boolean;
  /** Oldest TLS version accepted. */
  readonly ssl_min_protocol_version: TlsVersion;
  /** Newest TLS version offered; unset: the newest the runtime has. */
  readonly ssl_max_protocol_version?: TlsVersion;
  /** libpq's `gssencmode`, when set (GSSAPI is never used). */
  readonly gssencmode?: "disable" | "prefer";
  /** `application_name` reported to the server (`fallback_application_name` when none was set). */
  readonly application_name: string;
  /** libpq's `fallback_application_name`, when set. */
  readonly fallback_application_name?: string;
  /** Client encoding: always `UTF8`. */
  readonly client_encoding: "UTF8";
  /** Command-line options sent to the server at startup, as libpq sends them (`-c search_path=app`). */
  readonly options?: string;
  /** Bound on a whole connection attempt (TCP, TLS, startup, auth), ms. */
  readonly connect_timeout: number;
  /** TCP keepalives on. */
  readonly keepalives: boolean;
  /** Idle time before the first keepalive probe, ms. */
  readonly keepalives_idle: number;
  /** libpq's `keepalives_interval`, ms, when set (the runtime keeps the system's). */
  readonly keepalives_interval?: number;
  /** libpq's `keepalives_count`, when set (the runtime keeps the system's). */
  readonly keepalives_count?: number;
  /** libpq's `tcp_user_timeout`, ms, when set (the runtime cannot apply it). */
  readonly tcp_user_timeout?: number;
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
