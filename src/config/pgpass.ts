/**
 * libpq's password file (`~/.pgpass`, `PGPASSFILE`, `passfile`): its format
 * and matching rules, on text already read. Each line is
 * `hostname:port:database:username:password`; `*` matches anything, `\:` and
 * `\\` escape, lines starting with `#` are comments, and the first line that
 * matches wins.
 *
 * @module
 */

/**
 * What a password file entry is matched against, as libpq matches it.
 *
 * @example
 * ```ts
 * import type { PgpassTarget } from "./pgpass.ts";
 * const target: PgpassTarget = { host: "db", port: 5432, dbname: "app", user: "app" };
 * ```
 */
export interface PgpassTarget {
  /** The host as configured (a name, an address, or a socket directory); empty for none. */
  readonly host: string;
  /** The port. */
  readonly port: number;
  /** The database name. */
  readonly dbname: string;
  /** The user name. */
  readonly user: string;
}

/**
 * Socket directories that stand for `localhost` in a password file: libpq's
 * compiled-in default (`/var/run/postgresql` on Debian and Ubuntu, `/tmp`
 * upstream), where the default socket is looked for.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DEFAULT_SOCKET_DIRS } from "./pgpass.ts";
 * assert(DEFAULT_SOCKET_DIRS.includes("/tmp"));
 * ```
 */
export const DEFAULT_SOCKET_DIRS: readonly string[] = ["/var/run/postgresql", "/tmp"];

/**
 * The password of the first line of `text` that matches `target`, with its
 * line number, or `undefined`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { matchPgpass } from "./pgpass.ts";
 * const text = "# comment\nother:*:*:*:nope\ndb:5432:*:app:s\\:cret\n*:*:*:*:fallback\n";
 * assert.deepEqual(matchPgpass(text, { host: "db", port: 5432, dbname: "x", user: "app" }), { password: "s:cret", line: 3 });
 * assert.equal(matchPgpass(text, { host: "db2", port: 5432, dbname: "x", user: "y" })?.line, 4);
 * ```
 */
export function matchPgpass(text: string, target: PgpassTarget): { password: string; line: number } | undefined {
  if (!target.dbname || !target.user) return undefined;
  // libpq: "localhost" matches no host at all, and its default socket directory.
  const host = target.host === "" || DEFAULT_SOCKET_DIRS.includes(target.host.replace(/\/+$/, ""))
    ? "localhost"
    : target.host;
  const tokens = [host, String(target.port), target.dbname, target.user];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].replace(/\r$/, "");
    if (line === "" || line.startsWith("#")) continue;
    let rest: string | undefined = line;
    for (const token of tokens) {
      rest = matchField(rest, token);
      if (rest === undefined) break;
    }
    if (rest !== undefined) return { password: unescapePassword(rest), line: i + 1 };
  }
  return undefined;
}

/** What follows the field at the start of `text` when it matches `token` (`*`, or the token with `\` escapes). */
function matchField(text: string, token: string): string | undefined {
  if (text.startsWith("*:")) return text.slice(2);
  let t = 0;
  for (let i = 0; i < text.length; i++) {
    let escaped = false;
    if (text[i] === "\\") {
      i++;
      escaped = true;
    }
    if (i >= text.length) return undefined;
    if (text[i] === ":" && !escaped && t === token.length) return text.slice(i + 1);
    if (t === token.length || text[i] !== token[t]) return undefined;
    t++;
  }
  return undefined;
}

/** The password field: up to an unescaped `:`, backslash escapes removed. */
function unescapePassword(text: string): string {
  let out = "";
  for (let i = 0; i < text.length && text[i] !== ":"; i++) {
    if (text[i] === "\\" && i + 1 < text.length) i++;
    out += text[i];
  }
  return out;
}

/**
 * Why libpq would ignore a password file with these permissions (group or
 * world access), or `undefined` when they are fine.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { pgpassModeProblem } from "./pgpass.ts";
 * assert(pgpassModeProblem(0o600) === undefined && pgpassModeProblem(0o644)?.includes("0600"));
 * ```
 */
export function pgpassModeProblem(mode: number): string | undefined {
  if ((mode & 0o077) === 0) return undefined;
  return "has group or world access; permissions should be u=rw (0600) or less";
}
