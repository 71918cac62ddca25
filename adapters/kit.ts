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
import type { FieldInfo, QueryResult, Row } from "../src/contracts.ts";
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
export const OID = { INT8: 20, BYTEA: 17, BYTEA_ARRAY: 1001, DATE: 1082, INTERVAL: 1186 } as const;

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
 * Builds the `QueryResult` every adapter returns: `command` is the tag's verb
 * (`CREATE INDEX` → `CREATE`), `rowCount` the tag's count (for a `SELECT`
 * without one, the rows), bytea values plain `Uint8Array`s. `rows` is used as
 * is (converted in place).
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
  rows: Row[],
  fields: readonly FieldInfo[],
  tag: string | null | undefined,
  count: number | null | undefined,
): QueryResult {
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i];
    if (f.dataTypeID !== OID.BYTEA && f.dataTypeID !== OID.BYTEA_ARRAY) continue;
    for (const row of rows) {
      const v = row[f.name];
      if (v !== null && v !== undefined) row[f.name] = plainBytes(v);
    }
  }
  const text = tag ?? "";
  const space = text.indexOf(" ");
  const command = space < 0 ? text : text.slice(0, space);
  return { rows, rowCount: count ?? (command === "SELECT" ? rows.length : 0), command, fields };
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
