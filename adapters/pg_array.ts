/**
 * PostgreSQL array literals (`{1,NULL,"a b",{2,3}}`), parsed and built here
 * rather than by postgres.js: its parser turns NULL elements into the string
 * `"NULL"` (NaN in number arrays), and its per-connection type fetch can end
 * the process with an unhandled rejection when the connection dies during it.
 *
 * @module
 */

/**
 * Parses an array literal; `parse` converts each non-NULL element's text.
 * Handles quoting, backslash escapes, NULL, nesting and a leading `[1:3]=`
 * bounds decoration. `delimiter` is `;` only for `box[]`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseArray } from "./pg_array.ts";
 * assert.deepEqual(parseArray('{1,NULL,3}', Number), [1, null, 3]);
 * assert.deepEqual(parseArray('{"a b","NULL",{c}}'), ["a b", "NULL", ["c"]]);
 * ```
 */
export function parseArray(text: string, parse?: (text: string) => unknown, delimiter = ","): unknown[] {
  let i = 0;
  if (text[0] === "[") i = text.indexOf("=") + 1; // `[1:3]={...}`: the bounds are not part of the value
  const read = (): unknown[] => {
    const out: unknown[] = [];
    i++; // past "{"
    if (text[i] === "}") {
      i++;
      return out;
    }
    for (;;) {
      const c = text[i];
      if (c === "{") out.push(read());
      else if (c === '"') {
        let s = "";
        for (i++; text[i] !== '"'; i++) s += text[i] === "\\" ? text[++i] : text[i];
        i++;
        out.push(parse ? parse(s) : s);
      } else {
        let end = i;
        while (text[end] !== delimiter && text[end] !== "}") end++;
        const raw = text.slice(i, end);
        i = end;
        out.push(raw === "NULL" ? null : parse ? parse(raw) : raw);
      }
      if (text[i] === "}") {
        i++;
        return out;
      }
      i++; // past the delimiter
    }
  };
  return read();
}

/**
 * Builds an array literal from a (nested) JS array; `serialize` converts each
 * non-null element to text. Every element is quoted and escaped.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { serializeArray } from "./pg_array.ts";
 * assert.equal(serializeArray([1, null, 'a"b']), '{"1",NULL,"a\\"b"}');
 * ```
 */
export function serializeArray(
  values: readonly unknown[],
  serialize?: (value: unknown) => string,
  delimiter = ",",
): string {
  const parts = values.map((v) => {
    if (v === null || v === undefined) return "NULL";
    if (Array.isArray(v)) return serializeArray(v, serialize, delimiter);
    const s = serialize ? serialize(v) : String(v);
    return '"' + s.replace(/\\/g, "\\\\").replace(/"/g, '\\"') + '"';
  });
  return "{" + parts.join(delimiter) + "}";
}
