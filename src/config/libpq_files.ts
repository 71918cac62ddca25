/**
 * The files libpq reads while it resolves a connection, read through a
 * runtime's {@linkcode Platform}: the service file that holds a `service`'s
 * settings, the password file, and the default Unix-domain socket. The Deno
 * and Node runtime provides them (`NODE_RUNTIME.libpqFiles`); a runtime
 * without files (the edge) has none, and its bundles leave this module out.
 *
 * @module
 */

import type { FileInfo, Platform } from "../contracts.ts";
import type { ConfigIssue } from "../errors.ts";
/** The environment, as the configuration reads it (`HOME`, `PGSERVICEFILE`, `PGSYSCONFDIR`). */
type Env = Readonly<Record<string, string | undefined>>;
import { DEFAULT_SOCKET_DIRS, matchPgpass, pgpassModeProblem, type PgpassTarget } from "./pgpass.ts";
import { serviceSection } from "./service_file.ts";

/**
 * Where libpq looks for the system-wide service file when `PGSYSCONFDIR` is
 * unset: the directory Debian and Ubuntu compile in (`pg_config --sysconfdir`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DEFAULT_SYSCONFDIR } from "./libpq_files.ts";
 * assert(DEFAULT_SYSCONFDIR === "/etc/postgresql-common");
 * ```
 */
export const DEFAULT_SYSCONFDIR = "/etc/postgresql-common";

const SECTION = "database.postgres";

/**
 * A service's settings as its file has them, each with its `file:line [name]`,
 * and the problems found (a missing file or section, a bad line).
 *
 * @example
 * ```ts
 * import type { ServiceSettings } from "./libpq_files.ts";
 * const s: ServiceSettings = { entries: [{ key: "host", value: "db", source: "/etc/pg_service.conf:2 [app]" }], issues: [] };
 * ```
 */
export interface ServiceSettings {
  /** `keyword=value` lines, in order. */
  readonly entries: readonly { readonly key: string; readonly value: string; readonly source: string }[];
  /** What is wrong. */
  readonly issues: readonly ConfigIssue[];
}

/**
 * What a password file gave for one host: the password and where it came
 * from, or (none found) a note saying why, when there is something to say.
 *
 * @example
 * ```ts
 * import type { PasswordLookup } from "./libpq_files.ts";
 * const found: PasswordLookup = { password: "pw", source: "/home/app/.pgpass:3" };
 * ```
 */
export interface PasswordLookup {
  /** The password found. */
  readonly password?: string;
  /** `file:line` of the entry. */
  readonly source?: string;
  /** Why no password came from the file (ignored for its permissions, not a plain file...). */
  readonly note?: string;
  /** The file does not exist. */
  readonly missing?: true;
}

/**
 * libpq's files, as one runtime reads them.
 *
 * @example
 * ```ts ignore
 * const files = libpqFiles(NODE_PLATFORM);
 * const layer = files?.service("app", env);
 * ```
 */
export interface LibpqFiles {
  /** The settings of service `name`: `PGSERVICEFILE` or `~/.pg_service.conf`, else `PGSYSCONFDIR/pg_service.conf`. */
  service(name: string, env: Readonly<Record<string, string | undefined>>): ServiceSettings;
  /** The directory of the default Unix socket for `port`, if one exists, and what was looked for. */
  defaultSocket(port: number): { dir?: string; looked: string };
  /** The password file to read: `file` (from `passfile` / `PGPASSFILE`), else `~/.pgpass` (`$HOME` of `env`). */
  passfile(file: string | undefined, env: Readonly<Record<string, string | undefined>>): string | undefined;
  /** The password `file` holds for `target`. */
  password(file: string, target: PgpassTarget): PasswordLookup;
}

/**
 * libpq's files read through `platform`, or `undefined` when it cannot read
 * files synchronously.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { libpqFiles } from "./libpq_files.ts";
 * const files = libpqFiles({
 *   readTextFileSync: () => "[app]\nhost=db\n",
 *   statSync: () => ({ kind: "file", mode: 0o600 }),
 * });
 * assert(files?.service("app", { HOME: "/home/me" }).entries[0].source === "/home/me/.pg_service.conf:2 [app]");
 * assert(libpqFiles({}) === undefined);
 * ```
 */
export function libpqFiles(platform: Platform): LibpqFiles | undefined {
  const { readTextFileSync: read, statSync: stat } = platform;
  if (!read || !stat) return undefined;
  const readText = (file: string): string | undefined => {
    try {
      return read(file);
    } catch {
      return undefined;
    }
  };
  return {
    service(name, env) {
      const issues: ConfigIssue[] = [];
      const searched: string[] = [];
      const named = env.PGSERVICEFILE;
      const user = named || (env.HOME ? `${env.HOME}/.pg_service.conf` : undefined);
      const system = `${env.PGSYSCONFDIR || DEFAULT_SYSCONFDIR}/pg_service.conf`;
      for (const file of [user, system]) {
        if (file === undefined) continue;
        searched.push(file);
        const info = stat(file);
        // A file PGSERVICEFILE names must exist, as in libpq; the others are looked for.
        if (info === undefined && file === named) {
          const message = `service file "${file}" not found`;
          return { entries: [], issues: [{ path: `${SECTION}.service`, message, source: "PGSERVICEFILE" }] };
        }
        const text = info?.kind === "file" ? readText(file) : undefined;
        const section = text === undefined ? undefined : serviceSection(text, name);
        if (!section) continue;
        const where = (line: number) => `${file}:${line} [${name}]`;
        for (const e of section.errors) issues.push({ path: SECTION, message: e.message, source: where(e.line) });
        return { entries: section.entries.map((e) => ({ key: e.key, value: e.value, source: where(e.line) })), issues };
      }
      const message = `definition of service "${name}" not found (looked in ${searched.join(" and ")})`;
      return { entries: [], issues: [{ path: `${SECTION}.service`, message }] };
    },
    defaultSocket(port) {
      const paths = DEFAULT_SOCKET_DIRS.map((dir) => `${dir}/.s.PGSQL.${port}`);
      const i = paths.findIndex((p) => stat(p)?.kind === "socket");
      return { dir: i < 0 ? undefined : DEFAULT_SOCKET_DIRS[i], looked: paths.join(" or ") };
    },
    passfile(file, env) {
      return file ?? (env.HOME ? `${env.HOME}/.pgpass` : undefined);
    },
    password(file, target) {
      const info: FileInfo | undefined = stat(file);
      if (info === undefined) return { missing: true };
      // As libpq: a password file that is not a plain file, or that others may read, is ignored (libpq warns).
      if (info.kind !== "file") return { note: `password file ${file} ignored: not a plain file` };
      const problem = pgpassModeProblem(info.mode);
      if (problem) return { note: `password file ${file} ignored: it ${problem}` };
      const text = readText(file);
      if (text === undefined) return { note: `password file ${file} could not be read` };
      const match = matchPgpass(text, target);
      return match ? { password: match.password, source: `${file}:${match.line}` } : {};
    },
  };
}
