/**
 * Assembles the frozen {@linkcode DatabaseConfig} from validated values and
 * gives it printouts that never show a secret.
 *
 * @module
 */

import { Redactor, type Secret, withRedactor } from "../redact.ts";
import type { FieldValues } from "./schema.ts";
import type { DatabaseConfig, HostPort } from "./types.ts";

/**
 * Validated values by canonical key, defaults applied.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { CompleteValues } from "./build.ts";
 * const hosts: CompleteValues["host"] = ["a", "b"];
 * assert(hosts.length === 2);
 * ```
 */
export type CompleteValues = Omit<
  FieldValues,
  "dataDir" | "pooler" | "requiressl" | "sslcompression" | "gssdelegation" | "replication"
>;

const MASK = "***";
const SECRET_FIELDS = ["password", "sslkey", "sslpassword"] as const;
const OPTIONAL_FIELDS = [
  "password",
  "hostaddr",
  "passfile",
  "service",
  "require_auth",
  "sslrootcert",
  "sslcert",
  "sslkey",
  "sslpassword",
  "sslcrl",
  "sslcrldir",
  "ssl_max_protocol_version",
  "gssencmode",
  "fallback_application_name",
  "options",
  "keepalives_interval",
  "keepalives_count",
  "tcp_user_timeout",
  "statement_timeout",
  "schema_version_query",
  "max_replica_lag",
  "ws_proxy",
  "data_dir",
] as const;

/**
 * Builds the frozen configuration. `String(config)` is its URL with the
 * password masked, `JSON.stringify(config)` and `Deno.inspect(config)` show
 * secrets as `***`. Expects host and port lists already checked to pair up.
 *
 * The configuration carries a redactor (`redactorOf(config)`) that knows
 * `secrets` (found in the raw input) and the parsed secret values; every
 * printout of the configuration passes through it too.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { buildConfig } from "./build.ts";
 * import { DEFAULTS } from "./defaults.ts";
 * import { Secret } from "../redact.ts";
 * const values = { ...DEFAULTS, dbname: "shop", password: new Secret("hunter2") };
 * const config = buildConfig(values as never, { dbname: "test" });
 * assert(String(config) === "postgres://postgres:***@localhost:5432/shop");
 * assert(Object.isFrozen(config) && !JSON.stringify(config).includes("hunter2"));
 * ```
 */
export function buildConfig(
  values: CompleteValues,
  sources: Readonly<Record<string, string>>,
  secrets: Iterable<string> = [],
  passwords: readonly (Secret | undefined)[] = [],
): DatabaseConfig {
  const v = values;
  const hosts: HostPort[] = v.host.map((host, i) => {
    const hostPort: { -readonly [K in keyof HostPort]: HostPort[K] } = {
      host,
      port: v.port.length === 1 ? v.port[0] : v.port[i],
    };
    if (v.hostaddr?.[i] !== undefined) hostPort.address = v.hostaddr[i];
    if (passwords[i] !== undefined && passwords[i] !== v.password) hostPort.password = passwords[i];
    return hostPort;
  });
  const optional = Object.fromEntries(OPTIONAL_FIELDS.filter((k) => v[k] !== undefined).map((k) => [k, v[k]]));
  const config = {
    driver: v.driver,
    host: hosts[0].host,
    port: hosts[0].port,
    hosts,
    dbname: v.dbname ?? v.user,
    user: v.user,
    channel_binding: v.channel_binding,
    sslmode: v.sslmode,
    sslnegotiation: v.sslnegotiation,
    sslcertmode: v.sslcertmode,
    sslsni: v.sslsni,
    ssl_min_protocol_version: v.ssl_min_protocol_version,
    application_name: v.application_name,
    client_encoding: v.client_encoding,
    connect_timeout: v.connect_timeout,
    keepalives: v.keepalives,
    keepalives_idle: v.keepalives_idle,
    pool_min: v.pool_min,
    pool_max: v.pool_max,
    pool_acquire_timeout: v.pool_acquire_timeout,
    pool_idle_timeout: v.pool_idle_timeout,
    pool_max_lifetime: v.pool_max_lifetime,
    pre_ping: v.pre_ping,
    leak_detection_threshold: v.leak_detection_threshold,
    close_timeout: v.close_timeout,
    health_check_interval: v.health_check_interval,
    reconnect_backoff_base: v.reconnect_backoff_base,
    reconnect_backoff_max: v.reconnect_backoff_max,
    prepare: v.prepare && !v.pgbouncer,
    pgbouncer: v.pgbouncer,
    target_session_attrs: v.target_session_attrs,
    load_balance_hosts: v.load_balance_hosts,
    replicas: v.replicas.map((r) => ({ host: r.host, port: r.port ?? hosts[0].port })),
    neon_http: v.neon_http,
    ...optional,
    sources: {},
  } as DatabaseConfig;
  // List sources in the config's own key order, so printouts read top to bottom.
  // Then the keys that are not in the config (unset, like a password the password file did not give).
  const keys = [...Object.keys(config), ...Object.keys(sources).filter((k) => !(k in config))];
  const ordered = keys.filter((k) => k in sources).map((k) => [k, sources[k]]);
  Object.assign(config.sources, Object.fromEntries(ordered));
  const revealed = SECRET_FIELDS.flatMap((k) => v[k] === undefined ? [] : [v[k].reveal()]);
  for (const p of passwords) if (p !== undefined) revealed.push(p.reveal());
  // Names shown anyway: a password equal to one of them cannot be told apart from it, so it is not masked there.
  const shown = [v.user, v.dbname ?? v.user, v.application_name, ...v.host];
  const redactor = new Redactor([...secrets, ...revealed], shown);
  const redacted = () => redactor.redactValue(redact(config));
  withRedactor(config, redactor);
  Object.defineProperties(config, {
    toString: { value: () => redactor.redact(connectionUrl(config)) },
    toJSON: { value: redacted },
    [Symbol.for("Deno.customInspect")]: {
      value: (inspect?: (v: unknown, o?: unknown) => string, options?: unknown) =>
        `DatabaseConfig ${inspect ? inspect(redacted(), options) : JSON.stringify(redacted())}`,
    },
    [Symbol.for("nodejs.util.inspect.custom")]: {
      value: (_depth: number, options: unknown, inspect?: (v: unknown, o?: unknown) => string) =>
        `DatabaseConfig ${inspect ? inspect(redacted(), options) : JSON.stringify(redacted())}`,
    },
  });
  return deepFreeze(config);
}

/** A plain copy with every secret replaced by `***`. */
function redact(config: DatabaseConfig): Record<string, unknown> {
  const copy: Record<string, unknown> = { ...config };
  for (const key of SECRET_FIELDS) if (copy[key] !== undefined) copy[key] = MASK;
  copy.hosts = config.hosts.map((h) => h.password === undefined ? h : { ...h, password: MASK });
  return copy;
}

/** The configuration as a URL, password masked: what logs and `String(config)` show. */
function connectionUrl(c: DatabaseConfig): string {
  if (c.driver === "pglite") {
    return c.data_dir === undefined ? "pglite://memory" : `pglite://${encodeURI(c.data_dir)}`;
  }
  const v6 = (host: string) => host.includes(":") && !host.startsWith("/");
  const hosts = c.hosts.map((h) => `${v6(h.host) ? `[${h.host}]` : encodeURIComponent(h.host)}:${h.port}`);
  const credentials = `${encodeURIComponent(c.user)}${c.password ? `:${MASK}` : ""}@`;
  const params = [
    ...(c.driver === "neon" ? ["driver=neon"] : []),
    ...(c.sslmode === "prefer" ? [] : [`sslmode=${c.sslmode}`]),
  ];
  const query = params.length ? `?${params.join("&")}` : "";
  return `postgres://${credentials}${hosts.join(",")}/${encodeURIComponent(c.dbname)}${query}`;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
