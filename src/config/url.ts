/**
 * Connection URLs: `postgres://` / `postgresql://` (libpq's URI syntax, host
 * lists included) and `pglite://memory` / `pglite:///path/to/dir`.
 *
 * Parsed by hand: WHATWG `URL` rejects host lists (`a:5432,b:5433`) and libpq
 * allows `?` and `#` inside passwords.
 *
 * @module
 */

import { Redactor } from "../redact.ts";
import { resolveKey } from "./schema.ts";
import { isSecretKey, maskCredentials, textSecrets } from "./secrets.ts";
import { closest } from "./suggest.ts";

/**
 * What {@linkcode parseUrl} found: raw, unvalidated values by config key.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseUrl, type ParsedUrl } from "./url.ts";
 * const parsed: ParsedUrl = parseUrl("postgres://db:6432");
 * assert(parsed.values.port === "6432");
 * ```
 */
export interface ParsedUrl {
  /** Values by key as written (`host`, `port`, `user`, `password`, `dbname`, query parameters...). */
  readonly values: Readonly<Record<string, unknown>>;
  /** Problems in the URL's structure; value checks happen later, in the schema. */
  readonly issues: readonly UrlIssue[];
}

/**
 * A structural problem in a URL. Never quotes the URL, which may hold a password.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseUrl, type UrlIssue } from "./url.ts";
 * const [issue]: readonly UrlIssue[] = parseUrl("mysql://db").issues;
 * assert(issue.key === undefined && issue.message.includes("mysql://"));
 * ```
 */
export interface UrlIssue {
  /** The key concerned, when one is; otherwise the URL as a whole. */
  readonly key?: string;
  /** What is wrong. */
  readonly message: string;
}

const SCHEMES = ["postgres", "postgresql", "pglite"];
const EXPECTED = "expected a postgres://, postgresql:// or pglite:// URL";
/** Names of our schemes that edit distance would not find. */
const SCHEME_ALIASES: Readonly<Record<string, string>> = {
  pg: "postgres",
  pgsql: "postgresql",
  psql: "postgresql",
  postgis: "postgres",
};
/** A word and the separators after it: `postgres://`, `postgres:/`, `postgres//`, `Postgres : //`... */
const PREFIX = /^([A-Za-z][A-Za-z0-9+.-]*)(\s*[:;/\\][\s:;/\\]*)/;

/**
 * Whether `text` is an attempt at a URL, never a file path: it starts with a
 * scheme and a colon (`postgres:`, `postgresql:/`, `http://`, `app:pw@db`; a
 * one-letter drive such as `C:` excepted), holds `://`, or starts with a name
 * close to `postgres`, `postgresql` or `pglite` followed by `//` or `\\`.
 * Surrounding spaces and quotes are ignored. Such text is parsed as a URL and
 * refused with a message on what is wrong, rather than looked for as a file.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isUrl } from "./url.ts";
 * assert(isUrl("postgres://db/app") && isUrl("postgres:/app:pw@db/app") && isUrl("postgress//db/app"));
 * assert(!isUrl("config/dewey.yaml") && !isUrl("C:\\dewey.yaml") && !isUrl("postgres.yaml"));
 * ```
 */
export function isUrl(text: string): boolean {
  const t = text.trim().replace(/^["'<`]\s*/, "");
  if (/^[A-Za-z][A-Za-z0-9+.-]+\s*:/.test(t) || t.includes("://") || /^\/\/[^/]*@/.test(t)) return true;
  const m = PREFIX.exec(t);
  return m !== null && /[:;/\\]{2}/.test(m[2].replace(/\s/g, "")) && suggestScheme(m[1]) !== undefined;
}

/**
 * Whether `text` is a connection string (a URL attempt, see {@linkcode isUrl},
 * or a libpq keyword/value string such as `host=db password=x`) rather than
 * a file path.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isConnectionString } from "./url.ts";
 * assert(isConnectionString("host=db password='a b'") && isConnectionString("postgres:/db"));
 * assert(!isConnectionString("config/dewey.yaml"));
 * ```
 */
export function isConnectionString(text: string): boolean {
  return isUrl(text) || isKeywordString(text);
}

/**
 * Whether `text` looks like a libpq keyword/value string (`host=db dbname=app`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isKeywordString } from "./url.ts";
 * assert(isKeywordString("host=db port=5432") && !isKeywordString("postgres://db"));
 * ```
 */
export function isKeywordString(text: string): boolean {
  const t = text.trim().replace(/^["'`]\s*/, "");
  // A file path has no "password=", and rarely both "name=" and a space: such text is never looked for as a file.
  return /^[A-Za-z_][A-Za-z0-9_]*\s*=/.test(t) || /password\s*=/i.test(t) || (/\s/.test(t) && /\w\s*=/.test(t));
}

/** The scheme `word` most likely stands for: itself, a near-miss (`postgress`), a SQLAlchemy name (`postgresql+psycopg`). */
function suggestScheme(word: string): string | undefined {
  const base = word.toLowerCase().split("+")[0];
  return SCHEMES.includes(base) ? base : SCHEME_ALIASES[base] ?? closest(base, SCHEMES);
}

/**
 * What is wrong with the start of `text`, unless it is `postgres://`,
 * `postgresql://` or `pglite://` (any case). Quotes only the scheme and the
 * separators after it: whatever follows may hold a password.
 */
function schemeProblem(text: string): UrlIssue | undefined {
  if (/^(?:postgres|postgresql|pglite):\/\/(?!\/\/)/i.test(text)) return undefined;
  if (text.trim() === "") {
    // Typically `Deno.env.get("DATABASE_URL") ?? ""` with the variable unset: say so instead of "no scheme".
    return {
      message: `${EXPECTED}, found an empty string (is the variable that should hold it, e.g. DATABASE_URL, set?)`,
    };
  }
  if (/^["'<`]/.test(text)) return { message: `${EXPECTED}, found one in quotes; remove the quotes around it` };
  const m = PREFIX.exec(text);
  if (!m) return { message: `${EXPECTED}, found text without a scheme` };
  const word = m[1].length > 40 ? `${m[1].slice(0, 37)}...` : m[1];
  const separator = m[2].trimEnd();
  const tight = separator.replace(/\s/g, "");
  const suggested = suggestScheme(m[1]);
  if (m[1].toLowerCase() === "jdbc") return { message: `${EXPECTED}, found a JDBC URL; remove "jdbc:" from its start` };
  if (suggested !== undefined && suggested === m[1].toLowerCase()) {
    return { message: `expected "${suggested}://" at the start of the URL, found "${word}${separator}"` };
  }
  if (suggested !== undefined && (tight.includes(":") || tight.length >= 2)) {
    return { message: `unknown URL scheme "${word}" (did you mean "${suggested}://"?)` };
  }
  if (tight === "://") return { message: `${EXPECTED}, found a ${word}:// URL` };
  return { message: `${EXPECTED}, found text without a scheme` };
}

/**
 * Splits a connection URL into config values. Components are percent-decoded;
 * every query parameter is kept under its own name, so `?pool_max=20` sets
 * `pool_max` and unknown names are caught by the schema.
 *
 * @example A host list with per-host ports
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseUrl } from "./url.ts";
 * const { values, issues } = parseUrl("postgres://app:p%40ss@a:5432,b:5433/shop?sslmode=require");
 * assert(issues.length === 0);
 * assert(values.user === "app" && values.password === "p@ss" && values.dbname === "shop");
 * assert(String(values.host) === "a,b" && String(values.port) === "5432,5433");
 * assert(values.sslmode === "require");
 * ```
 *
 * @example PGlite
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseUrl } from "./url.ts";
 * assert(parseUrl("pglite:///var/lib/app").values.data_dir === "/var/lib/app");
 * assert(parseUrl("pglite://memory").values.driver === "pglite");
 * ```
 */
export function parseUrl(url: string): ParsedUrl {
  const text = url.trim();
  const problem = schemeProblem(text);
  if (problem) return { values: {}, issues: [problem] };
  const colon = text.indexOf(":");
  const rest = text.slice(colon + 3);
  return text.slice(0, colon).toLowerCase() === "pglite" ? parsePglite(rest) : parsePostgres(rest);
}

function parsePostgres(rest: string): ParsedUrl {
  const values: Record<string, unknown> = {};
  const issues: UrlIssue[] = [];
  const decode = decoder(issues);
  const { userinfo, authority, path, query } = split(rest);
  // An "@" past the host: the password (or user name) held a raw "/" or "?", so the split above went wrong.
  // Say nothing more: every part quoted from here on could be a piece of the password.
  const strayAt = path.includes("@") || query.split("&").some((p) => p.split("=")[0].includes("@"));
  if (strayAt) {
    const message = 'the user name or password contains an unencoded "/" or "?"; percent-encode them as %2F and %3F';
    return { values: {}, issues: [{ key: "password", message }] };
  }
  if (userinfo !== undefined) {
    const colon = userinfo.indexOf(":");
    const user = decode("user", colon < 0 ? userinfo : userinfo.slice(0, colon));
    if (user) values.user = user;
    if (colon >= 0) values.password = decode("password", userinfo.slice(colon + 1));
  }
  Object.assign(values, hostList(authority, decode, issues));
  if (path) values.dbname = decode("dbname", path);
  Object.assign(values, parseQuery(query, decode, issues));
  return { values, issues };
}

function parsePglite(rest: string): ParsedUrl {
  const issues: UrlIssue[] = [];
  const decode = decoder(issues);
  const q = rest.indexOf("?");
  const location = q < 0 ? rest : rest.slice(0, q);
  const values: Record<string, unknown> = { driver: "pglite" };
  const dir = decode("data_dir", location);
  // PGlite runs in-process: there is no server to log in to. `pglite:///a@b` (an absolute path) is fine.
  if (!dir.startsWith("/") && dir.split("/")[0].includes("@")) {
    const message = "a pglite:// URL takes no user name or password; write pglite://memory or pglite:///path/to/dir";
    return { values: {}, issues: [{ key: "password", message }] };
  }
  if (dir !== "" && dir !== "memory" && dir !== "memory/") values.data_dir = dir;
  Object.assign(values, parseQuery(q < 0 ? "" : rest.slice(q + 1), decode, issues));
  return { values, issues };
}

/** libpq's split: credentials end at the last "@" before the first "/"; the host list ends at "/" or "?". */
function split(rest: string): { userinfo?: string; authority: string; path: string; query: string } {
  const slash = rest.indexOf("/");
  const at = (slash < 0 ? rest : rest.slice(0, slash)).lastIndexOf("@");
  const userinfo = at < 0 ? undefined : rest.slice(0, at);
  const after = rest.slice(at + 1);
  const end = after.search(/[/?]/);
  const authority = end < 0 ? after : after.slice(0, end);
  const tail = end < 0 ? "" : after.slice(end);
  const q = tail.indexOf("?");
  const path = (q < 0 ? tail : tail.slice(0, q)).replace(/^\//, "");
  return { userinfo, authority, path, query: q < 0 ? "" : tail.slice(q + 1) };
}

type Decode = (key: string, text: string) => string;

function decoder(issues: UrlIssue[]): Decode {
  return (key, text) => {
    try {
      return decodeURIComponent(text);
    } catch {
      issues.push({ key, message: "invalid percent-encoding in the URL" });
      return "";
    }
  };
}

function hostList(authority: string, decode: Decode, issues: UrlIssue[]): Record<string, unknown> {
  if (authority === "") return {};
  const hosts: string[] = [];
  const ports: string[] = [];
  for (const entry of authority.split(",")) {
    let host = entry;
    let port = "";
    if (entry.startsWith("[")) {
      const close = entry.indexOf("]");
      if (close < 0 || (close + 1 < entry.length && entry[close + 1] !== ":")) {
        issues.push({ key: "host", message: 'expected an IPv6 address in brackets, such as "[::1]:5432"' });
        continue;
      }
      host = entry.slice(1, close);
      port = entry.slice(close + 2);
    } else if (entry.includes(":")) {
      host = entry.slice(0, entry.indexOf(":"));
      port = entry.slice(entry.indexOf(":") + 1);
    }
    hosts.push(decode("host", host));
    ports.push(port);
  }
  const out: Record<string, unknown> = {};
  if (hosts.some((h) => h !== "")) out.host = hosts.length === 1 ? hosts[0] : hosts;
  // libpq: a host without a port in a list gets the default port.
  if (ports.some((p) => p !== "")) out.port = ports.length === 1 ? ports[0] : ports.map((p) => p || "5432");
  return out;
}

function parseQuery(query: string, decode: Decode, issues: UrlIssue[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  let afterSecret = false;
  for (const part of query.split("&")) {
    if (part === "") continue;
    const eq = part.indexOf("=");
    const key = decode("query", eq < 0 ? part : part.slice(0, eq));
    const known = resolveKey(key).key !== undefined;
    // A raw "&" in a secret splits it: what follows is a piece of the secret, never to be quoted.
    if (afterSecret && (eq < 0 || !known)) {
      issues.push({ key: "password", message: 'a secret parameter holds an unencoded "&"; percent-encode it as %26' });
      break;
    }
    afterSecret = isSecretKey(key);
    const value = eq < 0 ? "" : decode(key, part.slice(eq + 1));
    // libpq reads ssl=true in a URL as sslmode=require, for JDBC's sake.
    if (key === "ssl" && value === "true") out.sslmode = "require";
    else if (eq >= 0) out[key] = value;
    else if (known) issues.push({ key, message: `expected "${key}=value" in the URL's query` });
    else issues.push({ key: "query", message: 'expected "name=value" in the URL\'s query, found a part without "="' });
  }
  return out;
}

/**
 * The URL with its password (in the credentials or in a `password`,
 * `sslpassword` or `sslkey` parameter) replaced by `***`. Safe on malformed
 * URLs too.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { redactUrl } from "./url.ts";
 * assert(redactUrl("postgres://app:hunter2@db:5432/shop") === "postgres://app:***@db:5432/shop");
 * assert(redactUrl("postgres://db/shop?password=hunter2") === "postgres://db/shop?password=***");
 * ```
 */
export function redactUrl(url: string): string {
  // Masked where they stand first, whatever their length; the redactor then catches them anywhere else.
  return new Redactor(textSecrets(url)).redact(maskCredentials(url));
}
