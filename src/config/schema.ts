/**
 * The zod/mini schema of the `database.postgres` section: one schema per key,
 * each coercing the strings that env vars and URLs give ("5432", "30s",
 * "yes") into typed values (the building blocks are in `coerce.ts`). zod/mini
 * rather than zod keeps edge bundles small. The keys are this library's and
 * libpq's (`libpq.ts` lists libpq's, with what this library does with each).
 *
 * Each schema is built on first use: a URL sets five or six keys, and building
 * all sixty at import would add to every cold start (the `cold-start` scenario).
 *
 * @module
 */

import * as z from "zod/mini";
import {
  boolean,
  choice,
  coerce,
  duration,
  durationMs,
  integer,
  lazy,
  list,
  offOnly,
  secret,
  text,
  toList,
  tryDuration,
} from "./coerce.ts";
import { unsupportedParameter } from "./libpq.ts";
import { clientEncoding, ipAddress, replication, requireAuth, requiressl } from "./schema_libpq.ts";
import { closest } from "./suggest.ts";

type Raw = { readonly input?: unknown };

// A URL given as a host would be quoted back whole, credentials and all: it is refused without quoting it.
const hostName = lazy(() =>
  z.pipe(
    z.transform((input: unknown, payload) => {
      if (typeof input !== "string" || !/@|:\/\//.test(input)) return input;
      payload.issues.push({ code: "custom", input: "", message: "expected a host name, found a URL or user@host" });
      return z.NEVER;
    }),
    coerce("a host name", (input) => (typeof input === "string" && input.trim() ? input.trim() : undefined)),
  )
);
const portNumber = lazy(() => integer(1, 65_535, "a port number"));

/** `"host"`, `"host:port"` or `"[v6]:port"` to `{ host, port }`; objects pass through to the object schema. */
function toReplica(input: unknown): unknown {
  if (typeof input === "object" && input !== null && !Array.isArray(input)) return input;
  if (typeof input !== "string") return undefined;
  const m = /^\[([^\]]*)\](?::(.*))?$/.exec(input.trim()) ?? /^([^:]*)(?::(.*))?$/.exec(input.trim());
  return m ? { host: m[1], ...(m[2] === undefined ? {} : { port: m[2] }) } : undefined;
}

const replica = () =>
  z.pipe(
    coerce('a replica as "host:port" or { host, port }', toReplica),
    z.strictObject({ host: hostName(), port: z.optional(portNumber()) }, {
      error: (i: Raw & { code?: string; keys?: string[] }) =>
        i.code === "unrecognized_keys"
          ? `unknown key "${i.keys?.[0]}" in a replica; expected host and port`
          : undefined,
    }),
  );

const prePing = () =>
  coerce("true, false or a duration", (input): number | false | undefined => {
    const word = typeof input === "string" ? input.trim().toLowerCase() : input;
    if (word === true || word === "true" || word === "yes" || word === "on") return 1_000;
    if (word === false || word === "false" || word === "no" || word === "off") return false;
    return tryDuration(input);
  });

const pooler = () =>
  z.pipe(
    choice(["transaction", "statement", "session", "none"]),
    z.transform((m) => m !== "session" && m !== "none"),
  );

const TLS_VERSIONS = ["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"] as const;

/** How to build each key's schema (aliases included); {@linkcode fieldSchema} builds it once, when first needed. */
const FIELDS = {
  driver: () => choice(["postgres", "neon", "pglite"]),
  host: () => list(hostName(), "host"),
  hostaddr: () => list(ipAddress(), "host address"),
  port: () => list(portNumber(), "port"),
  dbname: text,
  user: text,
  password: secret,
  passfile: text,
  service: text,
  channel_binding: () => choice(["disable", "prefer", "require"]),
  require_auth: requireAuth,
  sslmode: () =>
    choice(["disable", "allow", "prefer", "require", "verify-ca", "verify-full"], {
      foreign: {
        "no-verify": "sslmode=require (it encrypts without verifying the certificate)",
        "true": "sslmode=require, or verify-full to also verify the server",
      },
    }),
  requiressl,
  sslnegotiation: () => choice(["postgres", "direct"]),
  sslrootcert: text,
  sslcert: text,
  sslkey: secret,
  sslpassword: secret,
  sslcertmode: () => choice(["disable", "allow"], { key: "sslcertmode", refused: ["require"] }),
  sslcrl: text,
  sslcrldir: text,
  sslsni: boolean,
  ssl_min_protocol_version: () => choice(TLS_VERSIONS),
  ssl_max_protocol_version: () => choice(TLS_VERSIONS),
  sslcompression: () => offOnly("sslcompression"),
  gssencmode: () => choice(["disable", "prefer"], { key: "gssencmode", refused: ["require"] }),
  gssdelegation: () => offOnly("gssdelegation"),
  replication,
  application_name: text,
  fallback_application_name: text,
  client_encoding: clientEncoding,
  options: text,
  connect_timeout: duration,
  keepalives: boolean,
  keepalives_idle: duration,
  keepalives_interval: duration,
  keepalives_count: () => integer(0),
  tcp_user_timeout: durationMs,
  statement_timeout: duration,
  pool_min: () => integer(0),
  pool_max: () => integer(1),
  pool_acquire_timeout: duration,
  pool_idle_timeout: duration,
  pool_max_lifetime: duration,
  pre_ping: prePing,
  leak_detection_threshold: duration,
  close_timeout: duration,
  health_check_interval: duration,
  schema_version_query: text,
  reconnect_backoff_base: duration,
  reconnect_backoff_max: duration,
  prepare: boolean,
  pgbouncer: boolean,
  pooler,
  target_session_attrs: () => choice(["any", "read-write", "read-only", "primary", "standby", "prefer-standby"]),
  load_balance_hosts: () => choice(["disable", "random"]),
  replicas: () => z.pipe(coerce("a list of replicas", (v) => (v === "" ? [] : toList(v))), z.array(replica())),
  max_replica_lag: duration,
  ws_proxy: text,
  neon_http: boolean,
  data_dir: text,
  dataDir: text,
};

type Schemas = { [K in keyof typeof FIELDS]: ReturnType<(typeof FIELDS)[K]> };
const built: Partial<Schemas> = {};

/**
 * The zod/mini schema of one `database.postgres` key (aliases included),
 * taking raw values (YAML scalars, env strings, URL parameters) to their
 * typed form: durations in ms, hosts and ports as lists, secrets wrapped.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fieldSchema } from "./schema.ts";
 * assert(fieldSchema("port").parse("5432,5433").join() === "5432,5433");
 * assert(fieldSchema("pool_idle_timeout").parse("5m") === 300_000);
 * assert(fieldSchema("keepalives").parse("off") === false);
 * assert(!fieldSchema("port").safeParse("54x").success);
 * ```
 */
export function fieldSchema<K extends FieldName>(key: K): Schemas[K] {
  return (built[key] ??= FIELDS[key]() as Schemas[K]) as Schemas[K];
}

/**
 * A `database.postgres` key, aliases included.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { FieldName } from "./schema.ts";
 * const keys: FieldName[] = ["pool_max", "dataDir"];
 * assert(keys.length === 2);
 * ```
 */
export type FieldName = keyof typeof FIELDS;

/**
 * Typed values by key, as the schema outputs them.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { FieldValues } from "./schema.ts";
 * const partial: Partial<FieldValues> = { port: [5432], pre_ping: false };
 * assert(partial.port?.[0] === 5432);
 * ```
 */
export type FieldValues = { -readonly [K in FieldName]: Schemas[K]["_zod"]["output"] };

/** Alternative spellings and the key each stands for. */
const ALIASES: Readonly<Record<string, FieldName>> = {
  dataDir: "data_dir",
  pooler: "pgbouncer",
  requiressl: "sslmode",
};

// Names other libraries use for our keys; edit distance would not find these.
const FOREIGN_NAMES: Readonly<Record<string, string>> = {
  database: "dbname",
  db: "dbname",
  username: "user",
  pass: "password",
  hostname: "host",
  max: "pool_max",
  min: "pool_min",
  idle_timeout: "pool_idle_timeout",
  max_lifetime: "pool_max_lifetime",
};

// Parameters other libraries and ORMs put in connection URLs, with the libpq form (or our key) to write instead.
const FOREIGN_PARAMS: Readonly<Record<string, string>> = {
  ssl:
    "sslmode=disable for ssl=false; sslmode=require, or verify-full to also verify the server, for ssl=1 (libpq reads only ssl=true, in a URL)",
  sslaccept: "sslmode=require for accept_invalid_certs, sslmode=verify-full for strict",
  sslca: "sslrootcert",
  ssl_ca: "sslrootcert",
  sslfactory: "sslmode",
  schema: "options=-c search_path=<schema>",
  search_path: "options=-c search_path=<schema>",
  currentschema: "options=-c search_path=<schema>",
  timezone: "options=-c TimeZone=<zone>",
  connection_limit: "pool_max (this library's key)",
  pool_timeout: "pool_acquire_timeout (this library's key)",
  socket_timeout: "statement_timeout, or a timeout per query",
  statement_cache_size: "prepare=false for 0 (this library's key)",
  uselibpqcompat: "nothing: sslmode already has libpq's meaning here",
};

/**
 * The key `key` stands for (itself, or the key it is an alias of), or an
 * error message with a "did you mean" when `key` is unknown.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolveKey } from "./schema.ts";
 * assert(resolveKey("dataDir").key === "data_dir");
 * assert(resolveKey("pool_mx").message === 'unknown key "pool_mx" (did you mean "pool_max"?)');
 * ```
 */
export function resolveKey(
  key: string,
): { key: FieldName; message?: undefined } | { key?: undefined; message: string } {
  if (Object.hasOwn(FIELDS, key)) return { key: ALIASES[key] ?? (key as FieldName) };
  const refused = unsupportedParameter(key);
  if (refused) return { message: refused };
  const foreign = foreignParameter(key);
  if (foreign) {
    return { message: `unknown key ${JSON.stringify(key)} (not a libpq parameter; libpq's equivalent is ${foreign})` };
  }
  const hint = keyHint(key);
  return { message: `unknown key ${JSON.stringify(key)}${hint ? ` (did you mean "${hint}"?)` : ""}` };
}

/**
 * Whether `name` may be a key of a configuration document: a section
 * (`database`, `postgres`), a key or an alias, or a near-miss of one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isConfigKey } from "./schema.ts";
 * assert(isConfigKey("postgres") && isConfigKey("pool_mx") && !isConfigKey("S3cret"));
 * ```
 */
export function isConfigKey(name: string): boolean {
  return name === "database" || name === "postgres" || Object.hasOwn(FIELDS, name) || keyHint(name) !== undefined ||
    unsupportedParameter(name) !== undefined || foreignParameter(name) !== undefined;
}

/**
 * The key an unknown `key` most likely stands for: a near-miss (`pool_mx`) or
 * another library's name (`username`), if any.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { keyHint } from "./schema.ts";
 * assert(keyHint("pool_mx") === "pool_max" && keyHint("username") === "user" && keyHint("S3cret") === undefined);
 * ```
 */
export function keyHint(key: string): string | undefined {
  return Object.hasOwn(FOREIGN_NAMES, key) ? FOREIGN_NAMES[key] : closest(key, Object.keys(FIELDS));
}

/** What to write instead of another library's URL parameter `key`, if it is a known one. */
function foreignParameter(key: string): string | undefined {
  const k = key.toLowerCase();
  return Object.hasOwn(FOREIGN_PARAMS, k) ? FOREIGN_PARAMS[k] : undefined;
}

/**
 * A problem with one value: `at` is the path below the key (`""`, `"[1]"`, `"[0].port"`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { ValueIssue } from "./schema.ts";
 * const issue: ValueIssue = { at: "[1]", message: "expected a port number from 1 to 65535, found 0" };
 * assert(issue.at === "[1]");
 * ```
 */
export interface ValueIssue {
  /** Path below the key. */
  readonly at: string;
  /** Expected vs found. */
  readonly message: string;
}

/**
 * Coerces and validates the value of key `key` (as written: aliases have
 * their own schema), giving the typed value or every problem found in it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkValue } from "./schema.ts";
 * assert(checkValue("port", "5432").value?.[0] === 5432);
 * assert(checkValue("port", "54x").issues?.[0].message === 'expected a port number from 1 to 65535, found "54x"');
 * ```
 */
export function checkValue<K extends FieldName>(
  key: K,
  value: unknown,
): { value: FieldValues[K]; issues?: undefined } | { value?: undefined; issues: ValueIssue[] } {
  const result = fieldSchema(key).safeParse(value);
  if (result.success) return { value: result.data as FieldValues[K] };
  // A lone "54x" is wrapped into a one-item list by the schema; report it as `port`, not `port[0]`.
  const single = !Array.isArray(value) && !(typeof value === "string" && value.includes(","));
  return {
    issues: result.error.issues.map((issue) => {
      const at = issue.path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("");
      return { at: single ? at.replace(/^\[0\]/, "") : at, message: issue.message };
    }),
  };
}
