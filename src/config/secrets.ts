/**
 * Finding a configuration's secrets in its raw input, before (and whether
 * or not) it parses: passwords in URLs and mistyped URLs, `password=` in
 * keyword/value strings, the lines of secret keys in YAML (broken YAML too),
 * the environment variables that feed secret keys. What is found here feeds
 * the configuration's {@linkcode Redactor}; finding too much only masks a
 * little more text, finding too little leaks, so every reading is tried.
 *
 * @module
 */

import { Secret } from "../redact.ts";
import type { Env } from "./interpolate.ts";

/** `password`, `sslpassword`, `sslkey`, their usual misspellings (`pasword`, `passwd`, `pssword`, `sslky`) and kin. */
const SECRET_KEY = /pa?s{1,2}w|pwd|secret|sslke?y|privatekey|token/;

/**
 * Whether a key names a secret: `password`, `sslpassword`, `sslkey`, their
 * near-misses and other spellings (`pass`, `passwd`, `pwd`, `ssl_password`,
 * `PGPASSWORD`, `PGSSLKEY`...). `passfile` names a file, not a secret.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isSecretKey } from "./secrets.ts";
 * assert(isSecretKey("password") && isSecretKey("PGPASSWORD") && isSecretKey("pasword") && isSecretKey("sslKey"));
 * assert(!isSecretKey("passfile") && !isSecretKey("sslcert") && !isSecretKey("host"));
 * ```
 */
export function isSecretKey(key: string): boolean {
  const k = key.toLowerCase().replace(/[^a-z]/g, "");
  // A pattern rather than edit distance: every key of every URL and environment passes here.
  return SECRET_KEY.test(k) && !k.endsWith("passfile");
}

/** A scheme-like start: a word, then separators (`postgres://`, `postgres:/`, `postgres//`, `app:`...). */
const PREFIX = /^\s*["'<`]?\s*[A-Za-z][A-Za-z0-9+.-]*\s*([:;/\\][\s:;/\\]*)/;

/**
 * Secrets in one string that may be a URL, a mistyped URL or a keyword/value
 * string: the password of every plausible reading of `user:password@`, and
 * the values of secret parameters (`password=`, `sslpassword=`, `sslkey=`),
 * quoted or not, raw and decoded.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { textSecrets } from "./secrets.ts";
 * assert(textSecrets("postgres:/app:S3cret@db:5432/app").includes("S3cret"));
 * assert(textSecrets("postgres://app:a%20b@db?sslpassword=k3y").includes("a b"));
 * assert(textSecrets("host=db password='it\\'s secret'").includes("it's secret"));
 * ```
 */
export function textSecrets(text: string): string[] {
  const out = text.includes("@") ? userinfoReadings(text).flatMap(userinfoPasswords) : [];
  out.push(...parameterSecrets(text));
  return withDecoded(out);
}

/**
 * `text` with the password of every plausible `user:password@` reading and
 * the value of every secret `key=value` parameter replaced by `***` where it
 * stands, whatever its length: for quoting text that may be a URL (a mistyped
 * one, a file path that is really a URL, a URL given as a host).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { maskCredentials } from "./secrets.ts";
 * assert(maskCredentials("//app:pw@db/app") === "//app:***@db/app");
 * assert(maskCredentials("host=db password=x dbname=y") === "host=db password=*** dbname=y");
 * ```
 */
export function maskCredentials(text: string): string {
  let out = text;
  if (text.includes("@")) {
    const passwords = [...new Set(userinfoReadings(text).flatMap(userinfoPasswords))];
    for (const pw of passwords.sort((a, b) => b.length - a.length)) out = out.split(`:${pw}@`).join(":***@");
  }
  let masked = "";
  let last = 0;
  for (const match of out.matchAll(PARAMETER)) {
    const start = match.index + match[0].length;
    if (start < last || !isSecretKey(match[1])) continue;
    masked += `${out.slice(last, start)}***`;
    last = start + valueLength(out.slice(start));
  }
  return masked + out.slice(last);
}

/** How long the value at the start of `value` is: to its closing quote, else to a space or "&". */
function valueLength(value: string): number {
  if (value[0] === "'" || value[0] === '"') return Math.min(value.length, quotedPrefix(value).length + 2);
  const end = value.search(/[\s&]/);
  return end < 0 ? value.length : end;
}

/** The ways to read `text` as `[scheme separators] user:password@rest`. */
function userinfoReadings(text: string): string[] {
  const prefix = PREFIX.exec(text);
  const readings = prefix ? [text.slice(prefix[0].length)] : [];
  // "app:pw@db" has no scheme: its "app:" is a user name, so read the text whole too, unless the prefix has a slash.
  if (!prefix || !/[/\\]/.test(prefix[1])) readings.push(text.trim());
  return readings;
}

/** The password of each plausible end of the credentials: libpq's, and those a raw "/" or "?" in the password gives. */
function userinfoPasswords(rest: string): string[] {
  const slash = rest.indexOf("/");
  const query = rest.indexOf("?");
  const ends = new Set([
    (slash < 0 ? rest : rest.slice(0, slash)).lastIndexOf("@"),
    (query < 0 ? rest : rest.slice(0, query)).lastIndexOf("@"),
    rest.lastIndexOf("@"),
  ]);
  const out: string[] = [];
  for (const at of ends) {
    const colon = at < 0 ? -1 : rest.slice(0, at).indexOf(":");
    if (colon >= 0) out.push(rest.slice(colon + 1, at));
  }
  return out;
}

// Any non-word character may stand before a key: a missing space or "?" must not hide a password.
const PARAMETER = /(?:^|[^\w.-])["']?([A-Za-z_][\w.-]*)["']?\s*=\s*/g;

/** Values of secret `key=value` parameters: quoted (libpq's `'a \' b'`), up to a space, up to an `&`. */
function parameterSecrets(text: string): string[] {
  const out: string[] = [];
  for (const match of text.matchAll(PARAMETER)) {
    if (!isSecretKey(match[1])) continue;
    const value = text.slice(match.index + match[0].length);
    const quote = value[0];
    if (quote === "'" || quote === '"') {
      const inner = quotedPrefix(value);
      out.push(inner, inner.replace(/\\(.)/g, "$1"));
    }
    out.push(value.split(/\s/)[0], value.split(/[\s&]/)[0], value.trim());
  }
  return out;
}

/** The text between the opening quote of `value` and its closing one (backslash escapes), or to the end. */
function quotedPrefix(value: string): string {
  for (let i = 1; i < value.length; i++) {
    if (value[i] === "\\") i++;
    else if (value[i] === value[0]) return value.slice(1, i);
  }
  return value.slice(1);
}

/**
 * Secrets of the variables libpq and this library read: `PGPASSWORD`,
 * `PGSSLKEY`, and credentials in `DATABASE_URL`, `DEWEY_CONFIG` or any PG*
 * variable (a URL set by mistake).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { envSecrets } from "./secrets.ts";
 * const found = envSecrets({ PGPASSWORD: "hunter2", DATABASE_URL: "postgres://app:s3cr3t@db/app", HOME: "/root" });
 * assert(found.includes("hunter2") && found.includes("s3cr3t") && !found.includes("/root"));
 * ```
 */
export function envSecrets(env: Env): string[] {
  const out: string[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (!value || !(name.startsWith("PG") || name === "DATABASE_URL" || name === "DEWEY_CONFIG")) continue;
    if (isSecretKey(name)) out.push(value);
    out.push(...textSecrets(value));
  }
  return out;
}

/** Values of the variables `${NAME}` references in `text` name (defaults' references included). */
function referencedValues(text: string, env: Env): string[] {
  const out: string[] = [];
  for (const [, name] of text.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)/g)) {
    const value = env[name];
    if (value) out.push(value);
  }
  return out;
}

/**
 * Secrets of a configuration object: every value under a secret key (at any
 * depth, whatever its type), the variables its `${...}` references name, and
 * credentials in any string (a URL pasted as a host).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { objectSecrets } from "./secrets.ts";
 * const found = objectSecrets({ postgres: { password: "${DB_PW}", host: "postgres://u:S3cret@db" } }, { DB_PW: "hunter2" });
 * assert(found.includes("hunter2") && found.includes("S3cret"));
 * ```
 */
export function objectSecrets(input: unknown, env: Env): string[] {
  const out: string[] = [];
  const visit = (value: unknown, secret: boolean, depth: number): void => {
    if (value instanceof Secret) out.push(value.reveal());
    else if (typeof value === "string") {
      if (secret) out.push(value, ...referencedValues(value, env));
      out.push(...textSecrets(value));
    } else if (typeof value === "number" || typeof value === "bigint" || typeof value === "boolean") {
      if (secret) out.push(String(value));
    } else if (typeof value === "object" && value !== null && depth < 16) {
      for (const [key, item] of Object.entries(value)) visit(item, secret || isSecretKey(key), depth + 1);
    }
  };
  visit(input, false, 0);
  return withDecoded(out);
}

/**
 * Every secret of a configuration source that can be found before parsing
 * it: in the string (URL, mistyped URL, keyword/value string) or object, and
 * in the environment it is read with.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { inputSecrets } from "./secrets.ts";
 * const found = inputSecrets("postgres:://app:S3cret@db/app", { PGPASSWORD: "hunter2" });
 * assert(found.has("S3cret") && found.has("hunter2"));
 * ```
 */
export function inputSecrets(input: unknown, env: Env): Set<string> {
  const found = typeof input === "string" ? textSecrets(input) : objectSecrets(input, env);
  return new Set([...envSecrets(env), ...found]);
}

/** A key followed by ":" anywhere in a line: block mappings, flow mappings, JSON. */
const YAML_KEY = /(?:^|[^\w.-])(["']?)([A-Za-z_][\w.-]*)\1\s*:/g;
const YAML_KEY_LINE = /^\s*(?:-\s+)?["']?([\w.-]+)["']?\s*:(?:\s|$)/;

/**
 * What YAML text (broken YAML too) holds in secret keys: the secrets, read
 * every plausible way, and the numbers of the lines that hold a secret key or
 * its value (continuation lines, block scalars), whose parser errors must not
 * be shown; `keyLines` are those where a secret key itself stands. After an
 * empty value or an open quote, a following line is read as the value,
 * mis-indented, unless it starts with a key `isKey` accepts (by default any).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { yamlSecrets } from "./secrets.ts";
 * const { secrets, lines } = yamlSecrets("database:\n  password: S3cret: x\n   sslmode: require\n", {});
 * assert(secrets.includes("S3cret") && lines.has(2) && lines.has(3) && !lines.has(1));
 * ```
 */
export function yamlSecrets(
  text: string,
  env: Env,
  isKey: (name: string) => boolean = () => true,
): { secrets: string[]; lines: Set<number>; keyLines: Set<number> } {
  const out: string[] = [];
  const lines = new Set<number>();
  const keyLines = new Set<number>();
  const rows = text.split(/\r\n|\r|\n/);
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i];
    out.push(...textSecrets(row));
    for (const match of row.matchAll(YAML_KEY)) {
      if (!isSecretKey(match[2])) continue;
      lines.add(i + 1);
      keyLines.add(i + 1);
      const value = row.slice(match.index + match[0].length);
      out.push(...scalarReadings(value), ...referencedValues(value, env));
      const column = match.index + match[0].indexOf(match[2]);
      const open = isOpen(value);
      const continued: string[] = [];
      for (let j = i + 1; j < rows.length; j++) {
        const next = rows[j];
        const indent = next.length - next.trimStart().length;
        const blank = next.trim() === "";
        const deeper = indent > column;
        // After an empty value or an open quote, a line that is no key's (nor a misspelt key's) continues the
        // value, mis-indented.
        const key = YAML_KEY_LINE.exec(next)?.[1];
        const known = key !== undefined && isKey(key);
        if (!blank && !deeper && !(open && !known && !/^\s*(?:#|---|\.\.\.)/.test(next))) break;
        lines.add(j + 1);
        if (blank) continue;
        continued.push(next.trim());
        out.push(...scalarReadings(next), ...referencedValues(next, env));
      }
      if (continued.length) out.push(continued.join(" "), continued.join("\n"), continued.join(""));
    }
  }
  return { secrets: withDecoded(out), lines, keyLines };
}

/** Whether a value that starts on a key's line may go on below: empty, a block scalar, an unclosed quote or bracket. */
function isOpen(value: string): boolean {
  const t = value.trim();
  if (/^(?:[|>][-+0-9]*\s*)?(?:#.*)?$/.test(t)) return true;
  if (t[0] === '"' || t[0] === "'") return t[quotedPrefix(t).length + 1] !== t[0];
  const depth = (open: RegExp, close: RegExp) => (t.match(open)?.length ?? 0) - (t.match(close)?.length ?? 0);
  return depth(/\[/g, /\]/g) > 0 || depth(/\{/g, /\}/g) > 0;
}

/** Every plausible reading of a YAML scalar as written: plain, quoted, without comment, anchor, tag or alias mark. */
function scalarReadings(raw: string): string[] {
  const t = raw.trim();
  if (t === "") return [];
  const bare = t.replace(/\s+#.*$/, "").replace(/^(?:[&!]\S*\s+)+/, "");
  const out = [t, bare, bare.replace(/^[*&!]/, ""), bare.split(/:(?:\s|$)/)[0]];
  // In a flow mapping an unquoted "," ends the value; the pieces after it may turn up as keys.
  out.push(...bare.split(/\s*[,}\]]\s*/));
  if (t[0] === '"' || t[0] === "'") {
    const inner = quotedPrefix(t);
    out.push(inner, inner.replace(/''/g, "'"));
    try {
      out.push(JSON.parse(`"${inner}"`));
    } catch { /* not a JSON-compatible escape: the raw reading stands */ }
  }
  return out;
}

/** `found` plus the percent-decoded form of each item that decodes. */
function withDecoded(found: string[]): string[] {
  const out = found.filter((s) => s !== "");
  for (const s of out.slice()) {
    if (!s.includes("%")) continue;
    try {
      out.push(decodeURIComponent(s));
    } catch { /* not percent-encoded */ }
  }
  return out;
}
