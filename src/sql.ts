/**
 * Tagged-template SQL: every interpolated value becomes a parameter, never text.
 *
 * @module
 */

import type { QueryResult, Row } from "./contracts.ts";

/**
 * A tagged template that runs a statement and resolves to its rows; every
 * interpolated value is sent as a parameter.
 *
 * @example
 * ```ts ignore
 * const users = await db.sql`SELECT * FROM users WHERE id = ${42}`;
 * ```
 */
export type SqlTag = <R = Row>(strings: TemplateStringsArray, ...values: unknown[]) => Promise<R[]>;

// A memo of `templateText`, keyed by the call site's frozen strings array: unobservable, and a hot call site
// builds its text once.
const cache = new WeakMap<TemplateStringsArray, string>();

/**
 * Turns a template into statement text with `$1..$n` placeholders. The text is
 * cached per template literal, so a hot call site builds it once.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { templateText } from "./sql.ts";
 * const tag = (s: TemplateStringsArray, ..._v: unknown[]) => templateText(s);
 * assert(tag`SELECT * FROM t WHERE a = ${1} AND b = ${2}` === "SELECT * FROM t WHERE a = $1 AND b = $2");
 * ```
 */
export function templateText(strings: TemplateStringsArray): string {
  let text = cache.get(strings);
  if (text === undefined) {
    text = strings[0];
    for (let i = 1; i < strings.length; i++) text += "$" + i + strings[i];
    cache.set(strings, text);
  }
  return text;
}

/**
 * The `sql` tag of a database, session or connection: `rows(text, values)`
 * runs the statement the template builds. Bound once, so `const { sql } = db` works.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sqlTag } from "./sql.ts";
 * const sql = sqlTag((text, values) => Promise.resolve([{ text, values }]));
 * assert.deepEqual(await sql`SELECT ${1}::int AS n`, [{ text: "SELECT $1::int AS n", values: [1] }]);
 * ```
 */
export function sqlTag(rows: (text: string, values: unknown[]) => Promise<Row[]>): SqlTag {
  return <R = Row>(strings: TemplateStringsArray, ...values: unknown[]) =>
    rows(templateText(strings), values) as Promise<R[]>;
}

/**
 * The rows of a result (for `.then(rowsOf)`: no closure per call).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { rowsOf } from "./sql.ts";
 * assert.deepEqual(rowsOf({ rows: [{ n: 1 }], rowCount: 1, command: "SELECT", fields: [] }), [{ n: 1 }]);
 * ```
 */
export function rowsOf<R>(result: QueryResult<R>): R[] {
  return result.rows;
}
