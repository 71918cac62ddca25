/**
 * `parseConfig`: configuration from an object or a URL. Edge-safe: no file
 * access, no YAML parser, environment only through `options.env` (the entry
 * points default it to the runtime's environment).
 *
 * @module
 */

import { Redactor } from "../redact.ts";
import type { Env } from "./interpolate.ts";
import type { LibpqFiles } from "./libpq_files.ts";
import { connectionStringLayer, objectLayer } from "./layers.ts";
import { resolveLayers } from "./resolve.ts";
import { inputSecrets } from "./secrets.ts";
import type { DatabaseConfig } from "./types.ts";

/**
 * Options of {@linkcode parseConfig}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseConfig, type ParseConfigOptions } from "./parse.ts";
 * const options: ParseConfigOptions = { env: { PGHOST: "db" }, sources: { "port": "settings.json" } };
 * const config = parseConfig({ port: 6432 }, options);
 * assert(config.host === "db" && config.sources.port === "settings.json");
 * ```
 */
export interface ParseConfigOptions {
  /**
   * Variables for `${VAR}` interpolation and PG* fallbacks. None by default
   * here; the `parseConfig` of `@dewey/db` defaults it to the process environment.
   */
  env?: Readonly<Record<string, string | undefined>>;
  /** Where each key path of `input` came from (`database.postgres.port` → `config/dewey.yaml:5`). */
  sources?: Readonly<Record<string, string>>;
  /**
   * libpq's files: a `service`'s settings, the password file, the default socket. None by default here; the
   * `parseConfig` of `@dewey/db` and `DatabaseConnection` take the runtime's (`Runtime.libpqFiles`).
   */
  files?: LibpqFiles;
}

/**
 * Validates a configuration given as an object (`{ database: { postgres } }`,
 * `{ postgres }` or the postgres section itself) or as a connection URL
 * (`postgres://`, `postgresql://`, `pglite://`). Strings in objects are
 * interpolated (`${VAR}`, `${VAR:-default}`, `${VAR:?message}`, `$$`); URLs
 * are not. PG* variables fill the keys the input leaves unset, then defaults
 * apply. `DATABASE_URL` and config files are not read: use `loadConfig`.
 *
 * The result is frozen; `String(config)` is its URL with the password
 * masked, and JSON and `inspect` output show secrets as `***`. It carries a
 * redactor that knows its secrets (`redactorOf(config)`).
 *
 * @throws {ConfigError} listing every problem with its key path, what was
 * expected and found (never for secrets) and where the value came from. A
 * mistyped URL (`postgres:/...`, `postgress://...`) is refused as one. Every
 * secret of the input, even one that could not be parsed, is masked in the
 * error's message, issues, stack and causes.
 *
 * @example From an object
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseConfig } from "./parse.ts";
 * const config = parseConfig(
 *   { postgres: { host: "${DB_HOST:-localhost}", port: "6432", pool_max: 20, pool_idle_timeout: "5m" } },
 *   { env: {} },
 * );
 * assert(config.host === "localhost" && config.port === 6432);
 * assert(config.pool_max === 20 && config.pool_idle_timeout === 300_000);
 * ```
 *
 * @example From a URL
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseConfig } from "./parse.ts";
 * const config = parseConfig("postgres://app:hunter2@db:5432/shop?sslmode=require", { env: {} });
 * assert(config.user === "app" && config.sslmode === "require");
 * assert(String(config) === "postgres://app:***@db:5432/shop?sslmode=require");
 * ```
 */
export function parseConfig(
  input: string | Readonly<Record<string, unknown>>,
  options: ParseConfigOptions = {},
): DatabaseConfig {
  const env: Env = options.env ?? {};
  // Known before parsing, so that an error about input too broken to parse still masks them.
  const secrets = inputSecrets(input, env);
  try {
    const layer = typeof input === "string"
      ? connectionStringLayer(input, "url")
      : objectLayer(input, { env, sources: options.sources });
    return resolveLayers([layer], env, secrets, options.files);
  } catch (e) {
    throw new Redactor(secrets).redactError(e);
  }
}
