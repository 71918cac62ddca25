/**
 * Values in and out of postgres.js the way every adapter treats them: the
 * parameter rules (a string is the text the server parses, a `Date` goes as
 * its UTC time, arrays as PostgreSQL arrays or JSON as the server's type
 * says), `timestamp` read as UTC, and results in array or raw mode.
 *
 * @module
 */

import type { FieldInfo, QueryMode, QueryResult, Row } from "../src/contracts.ts";
import { customMode, isPlainObject, jsonText, OID, parseTimestamp, rawTypes, shapeResult } from "./kit.ts";
import { serializeArray } from "./pg_array.ts";

/** The parts of a postgres.js instance's `options` the adapter reads and adjusts. */
export type PgOptions = {
  parsers: Record<number, ((text: string) => unknown) | undefined>;
  serializers: Record<number, ((value: unknown) => string) | undefined>;
  shared: { typeArrayMap: Record<number, number> };
  parameters: Record<string, string>;
  /** The instance's `prepare` (config.prepare): false, every statement is unnamed. */
  prepare: boolean;
};

/** A postgres.js result: rows (objects, or arrays with `.values()`/`.raw()`) plus what the server said. */
export type PgResult = Row[] & {
  count: number | null;
  command: string | null;
  columns?: { name: string; type: number }[];
};

const PASSES_STRINGS = Symbol("passes strings");

/**
 * Installs the parameter and result rules on one postgres.js instance, before its first statement (the shared
 * array types are built from these): every serializer sends a string as it is, the text the server parses
 * (postgres.js would turn `'{"a":1}'` into a JSON string, `'true'` into false, and re-read a timestamp string in
 * the process's time zone); json and jsonb serialise anything else; `timestamp` is read as UTC.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { installValueRules, type PgOptions } from "./postgres_values.ts";
 * const options: PgOptions = {
 *   parsers: {},
 *   serializers: { 16: (x) => x === true ? "t" : "f" },
 *   shared: { typeArrayMap: {} },
 *   parameters: {},
 *   prepare: true,
 * };
 * installValueRules(options);
 * assert(options.serializers[16]!("true") === "true" && options.serializers[16]!(false) === "f");
 * assert(options.serializers[3802]!('{"a":1}') === '{"a":1}');
 * assert(options.parsers[1114]!("2024-01-02 03:04:05") instanceof Date);
 * ```
 */
export function installValueRules(options: PgOptions): void {
  const serializers = options.serializers;
  serializers[OID.JSON] = serializers[OID.JSONB] = jsonText;
  // postgres.js sends "f" for anything but `true`: a 1 would silently become false. Its text lets the server decide.
  serializers[OID.BOOL] = boolText;
  for (const key of Object.keys(serializers)) {
    const own = serializers[Number(key)];
    if (own === undefined || (own as { [PASSES_STRINGS]?: true })[PASSES_STRINGS]) continue;
    const passing = (value: unknown) => typeof value === "string" ? value : own(value);
    serializers[Number(key)] = Object.assign(passing, { [PASSES_STRINGS]: true as const });
  }
  options.parsers[OID.TIMESTAMP] = parseTimestamp;
}

function boolText(value: unknown): string {
  return typeof value === "boolean" ? (value ? "t" : "f") : String(value);
}

const NO_PARAMS: readonly unknown[] = Object.freeze([]);

/**
 * The parameters as postgres.js should get them: a `Date` as its ISO text with no declared type (postgres.js would
 * declare `timestamptz`, and the server would then shift it by the session's time zone into a `timestamp`),
 * `undefined` as NULL, arrays as `arrayParam` says. Returns `params` itself when nothing needs changing.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { toParams } from "./postgres_values.ts";
 * const params = [1, "x"];
 * assert(toParams(params) === params);
 * assert.deepEqual(toParams([new Date(0)]), ["1970-01-01T00:00:00.000Z"]);
 * ```
 */
export function toParams(params: readonly unknown[] | undefined): readonly unknown[] {
  if (params === undefined) return NO_PARAMS;
  for (let i = 0; i < params.length; i++) {
    const v = params[i];
    if (
      v === undefined ||
      (typeof v === "object" && v !== null && (v instanceof Date || Array.isArray(v) || isPlainObject(v)))
    ) {
      return params.map(toParam);
    }
  }
  return params;
}

/**
 * The parameters of an unnamed statement ({@linkcode toParams}'s, where a plain object is already its JSON text) when
 * postgres.js can bind them without knowing the server's types, so the statement goes in one write
 * ({@linkcode sendAtOnce}): as they are (a string as is, a number as its text; a boolean, bigint or byte array with the type postgres.js
 * declares for it, as it does when it asks). Undefined when an array is left (an array literal or, bound to json or
 * jsonb, JSON: only the server knows which) or an instance of a class (postgres.js serialises it by the server's
 * type). Returns `params` itself when nothing needs changing.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { unnamedParams } from "./postgres_values.ts";
 * assert.deepEqual(unnamedParams([1, "x", '{"a":1}', null]), [1, "x", '{"a":1}', null]);
 * assert(unnamedParams([[1, 2]]) === undefined && unnamedParams([new Map()]) === undefined);
 * ```
 */
export function unnamedParams(params: readonly unknown[]): readonly unknown[] | undefined {
  for (let i = 0; i < params.length; i++) {
    const v = params[i];
    if (typeof v === "object" && v !== null && !(v instanceof Uint8Array)) return undefined;
  }
  return params;
}

/**
 * postgres.js sends a parameterised statement it does not prepare as Parse, Describe and Flush, and Bind and
 * Execute only once the server has said the parameters' types (it serialises by them): a round trip more, and
 * nothing behind it is sent meanwhile. With every parameter already text ({@linkcode unnamedParams}) the types are
 * not needed: this makes postgres.js write Parse, Describe, Bind, Execute and Sync at once, as it does for an
 * unnamed statement without parameters. Its build step sets `describeFirst`; the own accessor keeps it false.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sendAtOnce } from "./postgres_values.ts";
 * const q: { describeFirst: boolean } = { describeFirst: true };
 * sendAtOnce(q);
 * q.describeFirst = true;
 * assert.equal(q.describeFirst, false);
 * ```
 */
export function sendAtOnce(q: object): void {
  Object.defineProperty(q, "describeFirst", AT_ONCE);
}

const AT_ONCE: PropertyDescriptor = Object.freeze({ get: () => false, set: () => {} });

function toParam(value: unknown): unknown {
  if (value === undefined) return null; // NULL, as on the other adapters (postgres.js refuses undefined)
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return arrayParam(value);
  // JSON text whatever the column (json and jsonb parse it; postgres.js would send "[object Object]" to text).
  return isPlainObject(value) ? jsonText(value) : value;
}

/**
 * postgres.js declares an array parameter with its first element's type (a boolean array as `bool`, not
 * `bool[]`), which the server rejects. Arrays of `Date`s become arrays of ISO strings (no declared type: the server
 * types the parameter, so it also serialises as JSON when bound to json/jsonb); arrays of booleans, bigints and
 * byte arrays go as literals of unknown type, typed by the server.
 */
function arrayParam(value: readonly unknown[]): unknown {
  let first: unknown = value;
  while (Array.isArray(first)) first = first.find((v) => v !== null && v !== undefined);
  if (first instanceof Date) return isoLeaves(value);
  if (typeof first === "boolean") return serializeArray(value, (b) => b ? "t" : "f");
  if (typeof first === "bigint") return serializeArray(value);
  if (first instanceof Uint8Array) return serializeArray(value, (b) => "\\x" + hex(b as Uint8Array));
  return value;
}

function isoLeaves(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(isoLeaves);
  return value instanceof Date ? value.toISOString() : value;
}

function hex(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}

/**
 * Several statements (simple protocol) give one result set each: the last one, whole (see {@linkcode wholeRows}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { lastSet, type PgResult } from "./postgres_values.ts";
 * const rows = Object.assign([, , { n: 1 }], { count: 1, command: "SELECT" }) as unknown as PgResult;
 * assert.deepEqual([...lastSet(rows)], [{ n: 1 }]);
 * ```
 */
export function lastSet(rows: PgResult): PgResult {
  const last = rows[rows.length - 1] as unknown;
  return wholeRows(Array.isArray(last) && "command" in last ? last as PgResult : rows);
}

/**
 * `rows` without the leading holes postgres.js 3.4 leaves after a statement failed part-way through its rows: it
 * does not reset its row counter on an error, so the next result on that connection is filled from the old
 * offset (porsager/postgres#1119, #1181). One element read when there is nothing to mend.
 */
export function wholeRows(rows: PgResult): PgResult {
  if (rows.length === 0 || rows[0] !== undefined) return rows; // a row is never undefined: a hole reads so
  const whole = rows.filter(() => true) as PgResult;
  whole.count = rows.count;
  whole.command = rows.command;
  whole.columns = rows.columns;
  return whole;
}

const decoder = new TextDecoder();

/**
 * A result in `mode`. postgres.js ran the statement with `.values()` (arrays of parsed values) when every value is
 * parsed, else with `.raw()` (arrays of each value's bytes), which this decodes to the server's text and parses
 * with `parsers` where the mode wants a value. In the default mode (a cursor's batches) the rows are postgres.js's
 * objects. `columns` and `count` stand in for the result's own (a cursor's later batches have none).
 */
export function modeResult(
  rows: PgResult,
  mode: QueryMode,
  parsers: PgOptions["parsers"],
  columns: readonly { name: string; type: number }[] = rows.columns ?? [],
  count: number | null = rows.count,
): QueryResult {
  const fields: FieldInfo[] = columns.map((c) => ({ name: c.name, dataTypeID: c.type }));
  const raw = rawTypes(mode);
  const arrays = mode.rowMode === "array";
  const out: (Row | unknown[])[] = new Array(rows.length);
  if (raw === undefined && arrays) {
    for (let i = 0; i < rows.length; i++) out[i] = rows[i];
  } else {
    // `.raw()` rows, or (a cursor's default mode) objects already parsed.
    const parse = columns.map((c) => raw === undefined || raw(c.type) ? undefined : parsers[c.type]);
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i] as unknown as (Uint8Array | null)[];
      if (raw === undefined) {
        out[i] = row as unknown as Row;
        continue;
      }
      const values = (arrays ? new Array(columns.length) : {}) as Record<string | number, unknown>;
      for (let j = 0; j < columns.length; j++) {
        const bytes = row[j];
        const text = bytes === null ? null : decoder.decode(bytes);
        const p = parse[j];
        values[arrays ? j : columns[j].name] = text === null || p === undefined ? text : p(text);
      }
      out[i] = values;
    }
  }
  return shapeResult(out as Row[], fields, rows.command, count, mode);
}

/**
 * How postgres.js must run a statement for `mode`: `"values"` (arrays, parsed), `"raw"` (arrays of bytes), or
 * undefined for its default (objects, parsed). Throws a `TypeError` for a malformed mode, before anything is sent.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { runAs } from "./postgres_values.ts";
 * assert(runAs(undefined) === undefined && runAs({ rowMode: "array" }) === "values" && runAs({ types: "raw" }) === "raw");
 * ```
 */
export function runAs(mode: QueryMode | undefined): "values" | "raw" | undefined {
  if (!customMode(mode)) return undefined;
  return rawTypes(mode) === undefined ? "values" : "raw";
}
