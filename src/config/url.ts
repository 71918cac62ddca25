/**
 * Connection URLs: `postgres://` / `postgresql://` (libpq's URI syntax, host
 * lists included) and `pglite://memory` / `pglite:///path/to/dir`.
 *
 * Parsed by hand: WHATWG `URL` rejects host lists (`a:5432,b:5433`) and libpq
 * allows `?` and `#` inside passwords.
 *
 * @module
 */

import { redactText } from "../redact.ts";

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

const SCHEME = /^([a-z][a-z0-9+.-]*):\/\//i;
const SECRET_PARAMS = /([?&](?:password|sslpassword|sslkey)=)[^&]*/gi;

/**
 * Whether `text` looks like a URL (`scheme://...`) rather than a file path.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isUrl } from "./url.ts";
 * assert(isUrl("postgres://db/app") && !isUrl("config/dewey.yaml"));
 * ```
 */
export function isUrl(text: string): boolean {
  return SCHEME.test(text);
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
  const scheme = SCHEME.exec(url)?.[1].toLowerCase();
  const rest = scheme === undefined ? "" : url.slice(scheme.length + 3);
  if (scheme === "pglite") return parsePglite(rest);
  if (scheme === "postgres" || scheme === "postgresql") return parsePostgres(rest);
  const found = scheme === undefined ? "text without a scheme" : `a ${scheme}:// URL`;
  return {
    values: {},
    issues: [{ message: `expected a postgres://, postgresql:// or pglite:// URL, found ${found}` }],
  };
}

function parsePostgres(rest: string): ParsedUrl {
  const values: Record<string, unknown> = {};
  const issues: UrlIssue[] = [];
  const decode = decoder(issues);
  const { userinfo, authority, path, query } = split(rest);
  if (path.includes("@")) {
    // The password (or user name) held a raw "/", so the split above went wrong; say nothing more, to leak nothing.
    const message = 'the user name or password contains an unencoded "/"; percent-encode it as %2F';
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
  if (location !== "" && location !== "memory" && location !== "memory/") {
    values.data_dir = decode("data_dir", location);
  }
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
  for (const part of query.split("&")) {
    if (part === "") continue;
    const eq = part.indexOf("=");
    const key = decode("query", eq < 0 ? part : part.slice(0, eq));
    if (eq < 0) issues.push({ key, message: `expected "${key}=value" in the URL's query` });
    else out[key] = decode(key, part.slice(eq + 1));
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
  const scheme = SCHEME.exec(url)?.[0];
  if (scheme === undefined) return redactText(url);
  const rest = url.slice(scheme.length);
  const slash = rest.indexOf("/");
  let at = (slash < 0 ? rest : rest.slice(0, slash)).lastIndexOf("@");
  // A raw "/" in the password puts its "@" after the first "/": mask up to it anyway.
  if (at < 0) at = rest.slice(0, rest.indexOf("?") < 0 ? undefined : rest.indexOf("?")).lastIndexOf("@");
  const colon = rest.indexOf(":");
  const masked = at >= 0 && colon >= 0 && colon < at ? `${rest.slice(0, colon + 1)}***${rest.slice(at)}` : rest;
  return redactText(scheme + masked.replace(SECRET_PARAMS, "$1***"));
}
