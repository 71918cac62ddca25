/**
 * What every adapter does the same way: shaping a driver's result into a
 * `QueryResult` (command verb, row count, plain `Uint8Array`s for bytea) and
 * mapping a driver's server error to `QueryError` or `DatabaseConnectionError`.
 * One implementation, so the conformance suite compares like with like.
 *
 * @module
 */

import { errorFields, networkError, serverError } from "../src/classify.ts";
import type { DatabaseConfig } from "../src/config/types.ts";
import type { FieldInfo, QueryMode, QueryResult, Row } from "../src/contracts.ts";
import { ConfigError, type DatabaseConnectionError, type QueryError } from "../src/errors.ts";

/**
 * Type OIDs the adapters look at.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { OID } from "./kit.ts";
 * assert(OID.BYTEA === 17);
 * ```
 */
export const OID = {
  BOOL: 16,
  INT8: 20,
  BYTEA: 17,
  JSON: 114,
  BYTEA_ARRAY: 1001,
  DATE: 1082,
  TIMESTAMP: 1114,
  TIMESTAMP_ARRAY: 1115,
  TIMESTAMPTZ: 1184,
  INTERVAL: 1186,
  JSONB: 3802,
} as const;

/**
 * A driver's byte buffer (Node's `Buffer`, or a bundled copy of it) as a plain
 * `Uint8Array` over the same memory; arrays of them element by element.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { plainBytes } from "./kit.ts";
 * class Buf extends Uint8Array {}
 * const out = plainBytes([new Buf([1, 2])]) as Uint8Array[];
 * assert(out[0].constructor === Uint8Array && out[0][1] === 2);
 * ```
 */
export function plainBytes(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(plainBytes);
  if (value instanceof Uint8Array && value.constructor !== Uint8Array) {
    return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  }
  return value;
}

/**
 * Whether `mode` asks for anything but the default (object rows, parsed values): adapters test this once per
 * statement and keep their default path as it is.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { customMode } from "./kit.ts";
 * assert(!customMode(undefined) && !customMode({ rowMode: "object", types: "parsed" }));
 * assert(customMode({ rowMode: "array" }) && customMode({ types: "raw" }));
 * ```
 */
export function customMode(mode: QueryMode | undefined): mode is QueryMode {
  if (mode === undefined) return false;
  const { rowMode, types } = mode;
  if (rowMode !== undefined && rowMode !== "object" && rowMode !== "array") {
    throw new TypeError(`rowMode must be "object" or "array", got ${JSON.stringify(rowMode)}`);
  }
  return rowMode === "array" || (types !== undefined && types !== "parsed");
}

/**
 * Which columns `mode` wants as the server's text: a test by type OID, or undefined when every value is parsed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { rawTypes } from "./kit.ts";
 * assert(rawTypes({ types: "raw" })!(23) && rawTypes({ types: { raw: [1114] } })!(1114));
 * assert(!rawTypes({ types: { raw: [1114] } })!(23) && rawTypes({ rowMode: "array" }) === undefined);
 * ```
 */
export function rawTypes(mode: QueryMode | undefined): ((oid: number) => boolean) | undefined {
  const types = mode?.types;
  if (types === undefined || types === "parsed") return undefined;
  if (types === "raw") return ALL_RAW;
  if (typeof types !== "object" || !Array.isArray(types.raw)) {
    throw new TypeError(`types must be "parsed", "raw" or { raw: [oid, ...] }, got ${JSON.stringify(types)}`);
  }
  // A frozen list (a query builder's constant, passed with every statement) is read once.
  const frozen = Object.isFrozen(types.raw);
  let test = frozen ? RAW_TESTS.get(types.raw) : undefined;
  if (test === undefined) {
    const oids = new Set(types.raw);
    test = (oid) => oids.has(oid);
    if (frozen) RAW_TESTS.set(types.raw, test);
  }
  return test;
}

const ALL_RAW = (): boolean => true;
/** Memo of {@linkcode rawTypes} for frozen OID lists, which cannot change under it. */
const RAW_TESTS = new WeakMap<readonly number[], (oid: number) => boolean>();

/**
 * Builds the `QueryResult` every adapter returns: `command` is the tag's verb
 * (`CREATE INDEX` → `CREATE`), `rowCount` the tag's count (for a `SELECT`
 * without one, the rows), parsed bytea values plain `Uint8Array`s. `rows` is
 * used as is (converted in place): objects, or arrays when `mode` says so.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { shapeResult } from "./kit.ts";
 * const r = shapeResult([{ n: 1 }], [{ name: "n", dataTypeID: 23 }], "SELECT 1", undefined);
 * assert(r.command === "SELECT" && r.rowCount === 1);
 * assert(shapeResult([], [], "INSERT 0 3", 3).rowCount === 3);
 * ```
 */
export function shapeResult(
  rows: Row[] | unknown[][],
  fields: readonly FieldInfo[],
  tag: string | null | undefined,
  count: number | null | undefined,
  mode?: QueryMode,
): QueryResult {
  const raw = mode === undefined ? undefined : rawTypes(mode);
  const arrays = mode?.rowMode === "array";
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i];
    if (f.dataTypeID !== OID.BYTEA && f.dataTypeID !== OID.BYTEA_ARRAY) continue;
    if (raw?.(f.dataTypeID)) continue; // the server's text, `\x0102`
    const key: string | number = arrays ? i : f.name;
    for (const row of rows as Record<string | number, unknown>[]) {
      const v = row[key];
      if (v !== null && v !== undefined) row[key] = plainBytes(v);
    }
  }
  const text = tag ?? "";
  const space = text.indexOf(" ");
  const command = space < 0 ? text : text.slice(0, space);
  return { rows: rows as Row[], rowCount: count ?? (command === "SELECT" ? rows.length : 0), command, fields };
}

const TIMESTAMP = /^(\d{4,})-(\d\d)-(\d\d)[ T](\d\d):(\d\d):(\d\d)(?:\.(\d+))?( BC)?$/;

/**
 * A `timestamp` (without time zone) as the server writes it, read as UTC: the `Date` whose UTC wall-clock time is
 * the stored one, whatever the process's `TZ`, so a `Date` written to a `timestamp` comes back equal. Fractions
 * below a millisecond are dropped (a `Date` has none); `infinity` gives an invalid `Date`, as for `timestamptz`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseTimestamp } from "./kit.ts";
 * assert.equal(parseTimestamp("2024-05-06 07:08:09.123456").toISOString(), "2024-05-06T07:08:09.123Z");
 * assert.equal(parseTimestamp("0044-03-15 12:00:00 BC").getUTCFullYear(), -43);
 * ```
 */
export function parseTimestamp(text: string): Date {
  const m = TIMESTAMP.exec(text);
  if (m === null) return new Date(text);
  const year = m[8] ? 1 - Number(m[1]) : Number(m[1]);
  const ms = m[7] ? Number(m[7].slice(0, 3).padEnd(3, "0")) : 0;
  const date = new Date(Date.UTC(2000, 0, 1, Number(m[4]), Number(m[5]), Number(m[6]), ms));
  date.setUTCFullYear(year, Number(m[2]) - 1, Number(m[3])); // years 0-99 too, which Date.UTC maps to 19xx
  return date;
}

/**
 * A JSON parameter as text: a string is already the document (`'{"a":1}'` is an object, as pg and psql take it),
 * anything else is serialised, a `bigint` inside as a string of its digits (JSON numbers would lose them; PGlite
 * does the same).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { jsonText } from "./kit.ts";
 * assert(jsonText('{"a":1}') === '{"a":1}' && jsonText({ a: 1 }) === '{"a":1}' && jsonText([1]) === "[1]");
 * assert(jsonText({ n: 9007199254740993n }) === '{"n":"9007199254740993"}');
 * ```
 */
export function jsonText(value: unknown): string {
  if (typeof value === "string") return value;
  try {
    return JSON.stringify(value);
  } catch (error) {
    // Only then pay for a replacer: JSON.stringify throws on a bigint.
    if (!(error instanceof TypeError)) throw error;
    return JSON.stringify(value, (_, v) => typeof v === "bigint" ? v.toString() : v);
  }
}

/**
 * An object literal (or `Object.create(null)`), not an instance of a class: every adapter binds one as its JSON
 * text, whatever the parameter's type (a driver would send `"[object Object]"` to a text column).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isPlainObject } from "./kit.ts";
 * assert(isPlainObject({ a: 1 }) && isPlainObject(Object.create(null)));
 * assert(!isPlainObject(new Date()) && !isPlainObject([1]) && !isPlainObject(new Uint8Array()) && !isPlainObject("x"));
 * ```
 */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * The library's error for a driver's server `ErrorResponse` (an error object
 * with a five-character SQLSTATE `code` and a `severity`, whichever driver
 * made it), or undefined when `error` is something else.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fromServerError } from "./kit.ts";
 * import { QueryError } from "../src/errors.ts";
 * const e = Object.assign(new Error("duplicate key"), { code: "23505", severity: "ERROR" });
 * assert(fromServerError(e, true) instanceof QueryError);
 * assert(fromServerError(Object.assign(new Error("x"), { code: "EPIPE" }), true) === undefined);
 * ```
 */
export function fromServerError(
  error: unknown,
  reachedServer: boolean,
): QueryError | DatabaseConnectionError | undefined {
  const e = error as Record<string, unknown> | null;
  if (typeof e !== "object" || e === null || typeof e.code !== "string" || !/^[0-9A-Z]{5}$/.test(e.code)) {
    return undefined;
  }
  if (typeof e.severity !== "string" && e.name !== "PostgresError") return undefined;
  return serverError(errorFields(e), error, reachedServer);
}

/**
 * The library's error for a failed link: a `DatabaseConnectionError` with the
 * socket's or driver's code, `retryable`, and `reachedServer` as the adapter
 * proved it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { linkError } from "./kit.ts";
 * const e = linkError(Object.assign(new Error("reset"), { code: "ECONNRESET" }), true);
 * assert(e.code === "ECONNRESET" && e.retryable && e.reachedServer);
 * ```
 */
export function linkError(
  error: unknown,
  reachedServer: boolean,
  code = "CONNECTION_CLOSED",
  prefix?: string,
): DatabaseConnectionError {
  const e = error as { code?: unknown; message?: unknown } | null;
  const own = typeof e?.code === "string" ? e.code : code;
  const message = typeof e?.message === "string" && e.message ? e.message : own;
  return networkError(prefix ? `${prefix}: ${message}` : message, own, reachedServer, error);
}

/**
 * A duration setting as `current_setting` shows it (`200ms`, `5s`, `1min`, `0`) in ms; undefined if unknown.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { settingMs } from "./kit.ts";
 * assert(settingMs("5s") === 5000 && settingMs("0") === 0 && settingMs(null) === undefined);
 * ```
 */
export function settingMs(text: string | null | undefined): number | undefined {
  const m = /^(\d+)\s*(ms|s|min|h|d)?$/.exec(text?.trim() ?? "");
  if (!m) return undefined;
  return Number(m[1]) * { ms: 1, s: 1000, min: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] ?? "ms"]!;
}

/**
 * The rejection handler for importing an adapter's driver package. On npm the
 * Neon driver and PGlite are optional peer dependencies: the application that
 * configures `driver: neon` or `driver: pglite` installs the package, nobody
 * else does. The adapter imports it when it builds its driver, as
 * `import("pkg").catch(missingPackage(config, "pkg"))`: the import stays lazy
 * in a bundle, and a bundler leaves a package that is not installed to run time
 * instead of failing the build. A missing package becomes a `ConfigError` on
 * `driver` saying what to install.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { missingPackage } from "./kit.ts";
 * import { parseConfig } from "../src/config/parse.ts";
 * const config = parseConfig("pglite://memory", { env: {} });
 * const load = Promise.reject(new Error("Cannot find package '@electric-sql/pglite'"));
 * await assert.rejects(load.catch(missingPackage(config, "@electric-sql/pglite")), /npm install @electric-sql\/pglite/);
 * ```
 */
export function missingPackage(config: DatabaseConfig, name: string): (cause: unknown) => never {
  return (cause) => {
    const why = cause instanceof Error ? cause.message : String(cause);
    throw new ConfigError([{
      path: "database.postgres.driver",
      message:
        `driver "${config.driver}" needs the npm package ${name}, which did not load (${why}): npm install ${name}`,
      source: config.sources.driver,
    }], { cause });
  };
}
