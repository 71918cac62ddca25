/**
 * libpq's keyword/value connection strings: `host=db port=5432 dbname=app`,
 * with libpq's quoting (`password='a b\\'c'`: single quotes around a value
 * holding spaces, a backslash escaping the next character).
 *
 * @module
 */

import { isSecretKey } from "./secrets.ts";
import type { ParsedUrl, UrlIssue } from "./url.ts";

const KEYWORD = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Splits a keyword/value string into raw values by keyword, as libpq does:
 * spaces around `=` are allowed, a later keyword overrides an earlier one,
 * values are checked later (by the schema, like a URL's). Problems never
 * quote a value, nor a word that may be a piece of one (after a secret).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseKeywordString } from "./conninfo.ts";
 * const { values, issues } = parseKeywordString("host=db port = 5432 password='a b\\'c' dbname=app\\ x");
 * assert(issues.length === 0);
 * assert.deepEqual(values, { host: "db", port: "5432", password: "a b'c", dbname: "app x" });
 * assert(parseKeywordString("host=db password='open").issues[0].message.includes("unterminated"));
 * ```
 */
export function parseKeywordString(text: string): ParsedUrl {
  const values: Record<string, unknown> = {};
  const issues: UrlIssue[] = [];
  const space = (c: string | undefined) => c !== undefined && /\s/.test(c);
  let i = 0;
  let previous: string | undefined;
  while (i < text.length) {
    if (space(text[i])) {
      i++;
      continue;
    }
    const start = i;
    while (i < text.length && text[i] !== "=" && !space(text[i])) i++;
    const keyword = text.slice(start, i);
    while (space(text[i])) i++;
    if (text[i] !== "=") {
      // After a secret's unquoted value, this word is most likely the rest of the secret: never quote it.
      const shown = previous !== undefined && isSecretKey(previous)
        ? `after the value of ${previous}; quote a value holding spaces: ${previous}='...'`
        : KEYWORD.test(keyword)
        ? `after "${keyword}"`
        : "after a word";
      issues.push({ key: previous && isSecretKey(previous) ? previous : undefined, message: `missing "=" ${shown}` });
      break;
    }
    i++;
    while (space(text[i])) i++;
    let value = "";
    const quoted = text[i] === "'";
    if (quoted) i++;
    let closed = !quoted;
    while (i < text.length) {
      const c = text[i];
      if (c === "\\") {
        i++;
        if (i < text.length) value += text[i++];
        continue;
      }
      if (quoted && c === "'") {
        i++;
        closed = true;
        break;
      }
      if (!quoted && space(c)) break;
      value += c;
      i++;
    }
    if (!closed) {
      const key = KEYWORD.test(keyword) ? keyword : undefined;
      issues.push({ key, message: `unterminated quoted value of ${shownKeyword(keyword)}` });
      break;
    }
    values[keyword] = value;
    previous = keyword;
  }
  return { values, issues };
}

function shownKeyword(keyword: string): string {
  return KEYWORD.test(keyword) ? `"${keyword}"` : "a keyword";
}
