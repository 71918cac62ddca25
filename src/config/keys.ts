/**
 * Every `database.postgres` key documented in one table: its group, unit and
 * one-line meaning, with its default read from {@linkcode DEFAULTS}. The
 * configuration reference (`docs/configuration.md`, written by
 * `deno task docs`) and the doctor read it; the table is keyed by the
 * schema's own key names, so a key added to the schema does not type-check
 * until it is described here.
 *
 * Kept apart from `defaults.ts` because the connection code never imports
 * this module: the descriptions stay out of edge bundles.
 *
 * @module
 */

import { Secret } from "../redact.ts";
import { DEFAULTS } from "./defaults.ts";
import type { FieldName } from "./schema.ts";

/**
 * The groups of the reference, in the order it shows them, each with the
 * guide that explains its keys (a path below `docs/`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { GROUPS } from "./keys.ts";
 * assert(GROUPS.tls.guide === "tls.md");
 * ```
 */
export const GROUPS = {
  connection: { title: "Connection", guide: undefined },
  tls: { title: "TLS", guide: "tls.md" },
  pool: { title: "Pool", guide: "operations.md" },
  health: { title: "Health and reconnection", guide: "operations.md" },
  scaling: { title: "PgBouncer, host lists and replicas", guide: "scaling.md" },
  adapters: { title: "Adapter-specific", guide: undefined },
  libpq: { title: "libpq parameters taken for compatibility", guide: undefined },
} as const satisfies Readonly<Record<string, { title: string; guide: string | undefined }>>;

/**
 * A group of {@linkcode GROUPS}.
 *
 * @example
 * ```ts
 * import type { KeyGroup } from "./keys.ts";
 * const group: KeyGroup = "pool";
 * ```
 */
export type KeyGroup = keyof typeof GROUPS;

/**
 * How one key is documented.
 *
 * @example
 * ```ts
 * import type { KeyDoc } from "./keys.ts";
 * const doc: KeyDoc = { group: "pool", description: "Connections never exceeded." };
 * ```
 */
export interface KeyDoc {
  /** Where the reference lists it. */
  readonly group: KeyGroup;
  /** One sentence, Markdown code spans allowed, no links: the doctor prints it too. */
  readonly description: string;
  /** `ms`: a duration, written `"500ms"`, `"30s"`, `"5m"` or seconds, held in milliseconds. */
  readonly unit?: "ms";
  /** For a duration: `0` turns the feature off rather than meaning no time at all. */
  readonly zeroIsOff?: true;
  /** The default when it is not a value of `DEFAULTS` (derived, or behaviour when unset). */
  readonly defaultText?: string;
}

/**
 * Every key of the schema, aliases included, documented.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { KEYS } from "./keys.ts";
 * assert(KEYS.connect_timeout.unit === "ms" && KEYS.sslmode.group === "tls");
 * ```
 */
export const KEYS: { readonly [K in FieldName]: KeyDoc } = {
  driver: {
    group: "connection",
    description:
      "The adapter: `postgres` (postgres.js over TCP), `neon` (Neon's serverless driver over WebSocket), `pglite` (embedded).",
  },
  host: {
    group: "connection",
    description:
      'Host name, IP address, or Unix-socket directory (a path starting with `/`); a list (`[a, b]` or `"a,b"`) is tried in order, as libpq does.',
    defaultText: "the Unix socket in `/var/run/postgresql` or `/tmp` if there is one, else `localhost`",
  },
  hostaddr: {
    group: "connection",
    description:
      "IP address to dial instead of resolving `host` (one per host); `host` is still the name TLS verifies and the password file matches.",
  },
  port: {
    group: "connection",
    description: "TCP port, or the number in a Unix socket's name: one for every host, or one per host.",
  },
  dbname: { group: "connection", description: "Database name.", defaultText: "the user" },
  user: { group: "connection", description: "Role to connect as." },
  password: { group: "connection", description: "Password; hidden wherever the configuration could be printed." },
  passfile: {
    group: "connection",
    description:
      "Password file read when no password is set, with libpq's format and rules (ignored when group or world can read it).",
    defaultText: "`~/.pgpass`",
  },
  service: {
    group: "connection",
    description:
      "A section of `~/.pg_service.conf` (or `PGSERVICEFILE`), else of `pg_service.conf` in `PGSYSCONFDIR`: its settings fill keys the source left unset.",
  },
  channel_binding: {
    group: "connection",
    description:
      "SCRAM channel binding to the TLS certificate: `prefer` binds when the server offers it, `require` refuses to connect without.",
  },
  require_auth: {
    group: "connection",
    description:
      "Authentication methods the server may ask for (`scram-sha-256`, `md5`, `password`, `none`), or those it may not (`!password`).",
  },
  options: {
    group: "connection",
    description: "Server options sent at startup, as libpq sends them: `-c search_path=app -c statement_timeout=5s`.",
  },
  client_encoding: {
    group: "connection",
    description: "Client encoding: `UTF8` (or `auto`), which the postgres.js driver needs.",
  },
  fallback_application_name: {
    group: "connection",
    description: "`application_name` when none is set elsewhere.",
  },
  application_name: { group: "connection", description: "Shown in `pg_stat_activity`." },
  connect_timeout: {
    group: "connection",
    unit: "ms",
    description: "Bound on one connection attempt per host: TCP, TLS, startup and authentication.",
  },
  keepalives: { group: "connection", description: "TCP keepalives, so a peer that vanished is noticed." },
  keepalives_idle: { group: "connection", unit: "ms", description: "Idle time before the first keepalive probe." },
  keepalives_interval: {
    group: "connection",
    unit: "ms",
    description: "Interval between keepalive probes: taken, not applied (libpq's rule where the system lacks it).",
    defaultText: "the system's",
  },
  keepalives_count: {
    group: "connection",
    description: "Keepalive probes before the connection counts as dead: taken, not applied.",
    defaultText: "the system's",
  },
  tcp_user_timeout: {
    group: "connection",
    unit: "ms",
    description: "Accepted as in libpq (a bare number is milliseconds); Deno's and Node's sockets cannot apply it.",
    defaultText: "the system's",
  },
  statement_timeout: {
    group: "connection",
    unit: "ms",
    description: "Server-side `statement_timeout` for every connection (refused with `pgbouncer`).",
  },
  sslmode: { group: "tls", description: "TLS mode, with libpq's meaning of each value." },
  sslnegotiation: {
    group: "tls",
    description:
      "`postgres` asks the server for TLS first; `direct` starts the TLS handshake at once (PostgreSQL 17, sslmode `require` or stronger).",
  },
  sslrootcert: {
    group: "tls",
    description: "Root certificate(s) the server must chain to: a file, inline PEM, or `system` (the runtime's store).",
  },
  sslcert: { group: "tls", description: "Client certificate (with intermediates): a file or inline PEM." },
  sslkey: { group: "tls", description: "Private key of `sslcert`: a file or inline PEM; hidden like a password." },
  sslpassword: { group: "tls", description: "Passphrase of an encrypted `sslkey`; hidden." },
  sslcertmode: { group: "tls", description: "`disable`: never present `sslcert`; `allow`: present it when set." },
  sslcrl: { group: "tls", description: "Certificate revocation list (PEM): a file or inline PEM." },
  sslcrldir: { group: "tls", description: "A directory of certificate revocation lists (PEM files)." },
  sslsni: { group: "tls", description: "Send the host name in TLS's Server Name Indication." },
  ssl_min_protocol_version: { group: "tls", description: "Oldest TLS version accepted." },
  ssl_max_protocol_version: {
    group: "tls",
    description: "Newest TLS version offered.",
    defaultText: "the newest the runtime has",
  },
  pool_min: { group: "pool", description: "Connections opened and kept open." },
  pool_max: { group: "pool", description: "Connections never exceeded." },
  pool_acquire_timeout: {
    group: "pool",
    unit: "ms",
    description: "Longest wait for a connection, then `PoolTimeoutError`.",
  },
  pool_idle_timeout: {
    group: "pool",
    unit: "ms",
    zeroIsOff: true,
    description: "Idle connections above `pool_min` close after this; `0`: never.",
  },
  pool_max_lifetime: {
    group: "pool",
    unit: "ms",
    zeroIsOff: true,
    description: "Connections retire after this, with jitter, never while checked out; `0`: never.",
  },
  pre_ping: {
    group: "pool",
    unit: "ms",
    description: "Validate a connection idle longer than this before checkout; `true`: 1s, `false`: never.",
  },
  leak_detection_threshold: {
    group: "pool",
    unit: "ms",
    zeroIsOff: true,
    description: "Emit `leak-suspected` with the checkout stack when a connection is held longer; `0`: off.",
  },
  close_timeout: { group: "pool", unit: "ms", description: "How long `close()` waits for checked-out work." },
  health_check_interval: {
    group: "health",
    unit: "ms",
    zeroIsOff: true,
    description: "Period of the check of idle connections and of `schema_version_query`; `0`: off (as on the edge).",
  },
  schema_version_query: {
    group: "health",
    description:
      "A query returning one value, such as `SELECT max(version) FROM schema_migrations`: a `schema-version` event when it changes.",
  },
  reconnect_backoff_base: {
    group: "health",
    unit: "ms",
    description:
      "Shortest wait between connection attempts while the server is unreachable; the wait grows to a fifth of the outage's age.",
  },
  reconnect_backoff_max: {
    group: "health",
    unit: "ms",
    description: "Longest wait between connection attempts while the server is unreachable or full.",
  },
  prepare: {
    group: "scaling",
    description: "Named prepared statements for parameterised queries; forced off by `pgbouncer`.",
  },
  pgbouncer: {
    group: "scaling",
    description:
      "Behind a transaction-pooling proxy: no named prepared statements, no startup parameters it would reject.",
  },
  pooler: {
    group: "scaling",
    description: "Another way to say `pgbouncer`: `transaction` or `statement` turns it on, `session` or `none` off.",
  },
  target_session_attrs: { group: "scaling", description: "Which server of a host list to keep, as in libpq." },
  load_balance_hosts: { group: "scaling", description: "`random` shuffles the host list for each new connection." },
  replicas: {
    group: "scaling",
    description: "Read replicas (`host:port` or `{ host, port }`) for work marked `readOnly`.",
  },
  max_replica_lag: {
    group: "scaling",
    unit: "ms",
    description: "Skip a replica further behind than this; unset: no bound.",
  },
  ws_proxy: {
    group: "adapters",
    description:
      "Neon adapter: WebSocket-to-TCP proxy, `host:port/path` or a `ws://`/`wss://` URL; unset: Neon's own endpoint.",
  },
  neon_http: {
    group: "adapters",
    description: "Neon adapter: HTTP query mode; refused, as it needs Neon's `/sql` endpoint.",
  },
  data_dir: { group: "adapters", description: "PGlite adapter: the data directory.", defaultText: "in memory" },
  dataDir: { group: "adapters", description: "Another spelling of `data_dir`." },
  requiressl: { group: "libpq", description: "libpq's deprecated spelling: `1` is `sslmode=require`, `0` `prefer`." },
  sslcompression: { group: "libpq", description: "Off only: TLS compression is insecure and not available." },
  gssencmode: { group: "libpq", description: "`disable` or `prefer`: GSSAPI encryption is never used." },
  gssdelegation: { group: "libpq", description: "Off only: GSSAPI is not implemented." },
  replication: { group: "libpq", description: "Off only: the replication protocol is for replication clients." },
};

/**
 * A duration in ms as a configuration file would write it: `500ms`, `10s`,
 * `5m`, `1h`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatDuration } from "./keys.ts";
 * assert(formatDuration(10_000) === "10s" && formatDuration(1_800_000) === "30m" && formatDuration(250) === "250ms");
 * ```
 */
export function formatDuration(ms: number): string {
  if (ms !== 0 && ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms !== 0 && ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms !== 0 && ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

/**
 * A typed value of `key` as a configuration file would write it, safe to
 * print: durations with a unit, lists comma-separated, replicas as
 * `host:port`, `0` as `0 (off)` where it means that, secrets as `***`,
 * inline PEM as `(inline PEM)`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatValue } from "./keys.ts";
 * import { Secret } from "../redact.ts";
 * assert(formatValue("pool_idle_timeout", 600_000) === "10m");
 * assert(formatValue("leak_detection_threshold", 0) === "0 (off)" && formatValue("pre_ping", false) === "off");
 * assert(formatValue("host", ["a", "b"]) === "a,b" && formatValue("replicas", [{ host: "r", port: 5433 }]) === "r:5433");
 * assert(formatValue("password", new Secret("hunter2")) === "***" && formatValue("replicas", []) === "none");
 * ```
 */
export function formatValue(key: FieldName, value: unknown): string {
  const doc = KEYS[key];
  if (value instanceof Secret) return "***";
  if (Array.isArray(value)) return value.length ? value.map((v) => formatValue(key, v)).join(",") : "none";
  if (value === false && doc.unit === "ms") return "off";
  if (doc.unit === "ms" && typeof value === "number") {
    return value === 0 && doc.zeroIsOff ? "0 (off)" : formatDuration(value);
  }
  if (typeof value === "object" && value !== null && "host" in value) {
    const { host, port } = value as { host: unknown; port?: unknown };
    return port === undefined ? String(host) : `${host}:${port}`;
  }
  if (typeof value === "string" && value.includes("-----BEGIN")) return "(inline PEM)";
  return String(value);
}

/**
 * The default of `key` as the reference prints it, or `undefined` when the
 * key has none (it is unset unless configured).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defaultText } from "./keys.ts";
 * assert(defaultText("connect_timeout") === "10s" && defaultText("dbname") === "the user");
 * assert(defaultText("password") === undefined);
 * ```
 */
export function defaultText(key: FieldName): string | undefined {
  const doc = KEYS[key];
  if (doc.defaultText !== undefined) return doc.defaultText;
  if (!Object.hasOwn(DEFAULTS, key)) return undefined;
  return formatValue(key, DEFAULTS[key as keyof typeof DEFAULTS]);
}
