/**
 * The zod/mini schema of the `database.postgres` section: one schema per key,
 * each coercing the strings that env vars and URLs give ("5432", "30s",
 * "yes") into typed values. zod/mini rather than zod keeps edge bundles small.
 *
 * Each schema is built on first use: a URL sets five or six keys, and building
 * all forty at import cost a cold start ~5 ms.
 *
 * @module
 */

import * as z from "zod/mini";
import { Secret } from "../redact.ts";
import { describeKind, describeValue } from "./describe.ts";
import { parseDuration } from "./duration.ts";
import { closest } from "./suggest.ts";

type Raw = { readonly input?: unknown };

const MAX_TIMER_MS = 2 ** 31 - 1; // setTimeout fires at once beyond this
const INTEGER = /^[+-]?\d+$/;
const TRUE = ["true", "yes", "on", "1"];
const FALSE = ["false", "no", "off", "0"];

/** `build()`'s value, built on the first call. */
function lazy<T>(build: () => T): () => T {
  let value: T | undefined;
  return () => value ??= build();
}

const expected = (what: string) => (issue: Raw): string => `expected ${what}, found ${describeValue(issue.input)}`;

/** A schema from a coercion that returns `undefined` when the input does not fit. */
function coerce<T>(what: string, fn: (input: unknown) => T | undefined, secret = false) {
  return z.transform((input: unknown, payload): T => {
    const out = fn(input);
    if (out === undefined) {
      const found = secret ? describeKind(input) : describeValue(input);
      const hint = secret && typeof input === "number" ? " (quote it in YAML)" : "";
      payload.issues.push({ code: "custom", input, message: `expected ${what}, found ${found}${hint}` });
    }
    return out as T;
  });
}

function toInteger(input: unknown): number | undefined {
  const n = typeof input === "string" && INTEGER.test(input.trim()) ? Number(input) : input;
  return typeof n === "number" && Number.isSafeInteger(n) ? n : undefined;
}

function integer(min: number, max?: number, noun = "an integer") {
  const what = max === undefined ? `${noun} of at least ${min}` : `${noun} from ${min} to ${max}`;
  const range = max === undefined ? [z.gte(min, { error: expected(what) })] : [
    z.gte(min, { error: expected(what) }),
    z.lte(max, { error: expected(what) }),
  ];
  return z.pipe(coerce(what, toInteger), z.number().check(...range));
}

function toBoolean(input: unknown): boolean | undefined {
  if (typeof input === "boolean") return input;
  if (typeof input !== "string" && typeof input !== "number") return undefined;
  const word = String(input).trim().toLowerCase();
  return TRUE.includes(word) ? true : FALSE.includes(word) ? false : undefined;
}

function tryDuration(input: unknown): number | undefined {
  try {
    return parseDuration(input);
  } catch {
    return undefined;
  }
}

const DURATION = 'a duration such as "500ms", "30s", "5m", "1h" or a number of seconds';
const duration = lazy(() =>
  z.pipe(
    coerce(DURATION, tryDuration),
    z.number().check(
      z.lte(MAX_TIMER_MS, { error: (i: Raw) => `expected a duration of at most 24.8 days, found ${i.input} ms` }),
    ),
  )
);

const text = lazy(() =>
  coerce("a non-empty string", (input) => {
    if (typeof input === "number" && Number.isFinite(input)) return String(input);
    return typeof input === "string" && input.trim() !== "" ? input.trim() : undefined;
  })
);

// A number is refused rather than stringified: YAML reads `0123` as 123 and `1e3` as 1000.
const secret = lazy(() =>
  coerce("a non-empty string", (input) => {
    if (input instanceof Secret) return input;
    return typeof input === "string" && input !== "" ? new Secret(input) : undefined;
  }, true)
);

const boolean = lazy(() => coerce("true or false", toBoolean));

// The error quotes the input as written: a lower-cased copy of a secret put here by mistake would escape redaction.
function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  const what = `one of ${values.join(", ")}`;
  return z.transform((input: unknown, payload): T[number] => {
    const word = typeof input === "string" ? input.trim().toLowerCase() : undefined;
    if (word !== undefined && (values as readonly string[]).includes(word)) return word;
    const hint = typeof input === "string" ? closest(input, values) : undefined;
    const message = `${expected(what)({ input })}${hint ? ` (did you mean "${hint}"?)` : ""}`;
    payload.issues.push({ code: "custom", input, message });
    return z.NEVER;
  });
}

function toList(input: unknown): unknown[] | undefined {
  if (Array.isArray(input)) return input;
  if (typeof input === "string") return input.split(",").map((s) => s.trim());
  return typeof input === "number" ? [input] : undefined;
}

function list<T extends z.core.SomeType>(item: T, what: string) {
  const atLeastOne = z.minLength(1, { error: `expected at least one ${what}, found none` });
  return z.pipe(coerce(`a ${what} or a list of them`, toList), z.array(item).check(atLeastOne));
}

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
    oneOf(["transaction", "statement", "session", "none"]),
    z.transform((m) => m !== "session" && m !== "none"),
  );

/** How to build each key's schema (aliases included); {@linkcode fieldSchema} builds it once, when first needed. */
const FIELDS = {
  driver: () => oneOf(["postgres", "neon", "pglite"]),
  host: () => list(hostName(), "host"),
  port: () => list(portNumber(), "port"),
  dbname: text,
  user: text,
  password: secret,
  sslmode: () => oneOf(["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]),
  sslrootcert: text,
  sslcert: text,
  sslkey: secret,
  sslpassword: secret,
  application_name: text,
  connect_timeout: duration,
  keepalives: boolean,
  keepalives_idle: duration,
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
  target_session_attrs: () => oneOf(["any", "read-write", "read-only", "primary", "standby", "prefer-standby"]),
  load_balance_hosts: () => oneOf(["disable", "random"]),
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
const ALIASES: Readonly<Record<string, FieldName>> = { dataDir: "data_dir", pooler: "pgbouncer" };

// Names other libraries use for our keys; edit distance would not find these.
const FOREIGN_NAMES: Readonly<Record<string, string>> = {
  database: "dbname",
  db: "dbname",
  username: "user",
  pass: "password",
  hostname: "host",
  max: "pool_max",
  min: "pool_min",
  ssl: "sslmode",
  idle_timeout: "pool_idle_timeout",
  max_lifetime: "pool_max_lifetime",
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
  return name === "database" || name === "postgres" || Object.hasOwn(FIELDS, name) || keyHint(name) !== undefined;
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
