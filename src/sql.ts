/**
 * Tagged-template SQL: every interpolated value becomes a parameter, never text.
 *
 * @module
 */

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
