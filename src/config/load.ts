/**
 * `loadConfig`: the configuration from a file, a URL, an object, or the
 * environment and the default file.
 *
 * ## Precedence
 *
 * Each key takes its value from the highest layer that sets it:
 *
 * 1. **The explicit source** passed to `loadConfig` or `parseConfig`: an
 *    object, a URL, or (to `loadConfig`) a file path. When one is given, the
 *    default config file, `$DEWEY_CONFIG` and `DATABASE_URL` are not read.
 * 2. **`DATABASE_URL`** (only without an explicit source): its host, port,
 *    user, password, dbname and query parameters override the config file.
 * 3. **The config file**: `$DEWEY_CONFIG` (an error if set but missing), else
 *    `config/dewey.yaml` if it exists. `${VAR}` references in it are
 *    interpolated; a value taken from a variable counts as the file's.
 * 4. **PG\* variables**, libpq-style fallbacks for keys no higher layer set:
 *    `PGHOST`, `PGPORT`, `PGUSER`, `PGPASSWORD`, `PGDATABASE`, `PGSSLMODE`,
 *    `PGAPPNAME`, `PGCONNECT_TIMEOUT`, `PGSSLROOTCERT`, `PGSSLCERT`,
 *    `PGSSLKEY`, `PGTARGETSESSIONATTRS`, `PGLOADBALANCEHOSTS`. They apply
 *    with an explicit source too.
 * 5. **Defaults** (see `DatabaseConfig`); `dbname` defaults to `user`.
 *
 * An empty value (`password: ${DB_PASSWORD:-}`, `PGHOST=`) counts as unset,
 * so the next layer down applies. `config.sources` records where each key's
 * value came from: `config/dewey.yaml:4`, `env DB_PORT (config/dewey.yaml:5)`,
 * `DATABASE_URL`, `PGPORT`, `url`, `object` or `default`.
 *
 * @module
 */

import type { Platform } from "../contracts.ts";
import { ConfigError } from "../errors.ts";
import { Redactor } from "../redact.ts";
import { databaseUrlLayer } from "./env.ts";
import type { Env } from "./interpolate.ts";
import { type Layer, objectLayer } from "./layers.ts";
import { parseConfig } from "./parse.ts";
import { resolveLayers } from "./resolve.ts";
import { isConfigKey } from "./schema.ts";
import { inputSecrets, maskCredentials, yamlSecrets } from "./secrets.ts";
import type { DatabaseConfig } from "./types.ts";
import { isConnectionString } from "./url.ts";

/**
 * The config file read when neither a source nor `$DEWEY_CONFIG` is given,
 * relative to the working directory.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DEFAULT_CONFIG_FILE } from "./load.ts";
 * assert(DEFAULT_CONFIG_FILE === "config/dewey.yaml");
 * ```
 */
export const DEFAULT_CONFIG_FILE = "config/dewey.yaml";

/**
 * Options of {@linkcode loadConfig}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadConfig, type LoadConfigOptions } from "./load.ts";
 * const options: LoadConfigOptions = { env: { DATABASE_URL: "postgres://app@db/shop", DEWEY_CONFIG: "" } };
 * assert((await loadConfig(undefined, options)).dbname === "shop");
 * ```
 */
export interface LoadConfigOptions {
  /** The environment to use instead of the platform's: `DEWEY_CONFIG`, `DATABASE_URL`, PG*, `${VAR}`. */
  env?: Readonly<Record<string, string | undefined>>;
  /**
   * File and environment access (the runtime's platform). The `loadConfig` of
   * `@dewey/db` passes Deno's or Node's; without one no file is read.
   */
  platform?: Platform;
}

/**
 * Loads and validates the configuration. `source` is a YAML file path, a
 * connection URL, a configuration object, or nothing for the environment
 * and the default file (see the module documentation for precedence). A
 * string that starts like a URL (`postgres:`, `postgress://`, `app:pw@db`)
 * is a URL, never a file path, even when it is malformed.
 *
 * @throws {ConfigError} listing every problem: YAML syntax, a missing
 * environment variable or file, wrong types and ranges, unknown keys; each
 * with its key path and source (`config/dewey.yaml:5`, `DATABASE_URL`...).
 * Secrets found in the input, even in a broken file, are masked in it.
 *
 * @example Defaults, the environment and `config/dewey.yaml`
 * ```ts ignore
 * import { loadConfig } from "@dewey/db";
 * const config = await loadConfig();
 * console.log(`${config}`, config.sources.host); // postgres://postgres@127.0.0.1:5432/test config/dewey.yaml:3
 * ```
 *
 * @example A URL, with PG* variables filling the gaps
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadConfig } from "./load.ts";
 * const config = await loadConfig("postgres://app@db/shop", { env: { PGPASSWORD: "hunter2" } });
 * assert(config.password?.reveal() === "hunter2" && config.sources.password === "PGPASSWORD");
 * ```
 */
export async function loadConfig(
  source?: string | Readonly<Record<string, unknown>>,
  options: LoadConfigOptions = {},
): Promise<DatabaseConfig> {
  const platform = options.platform ?? {};
  const env: Env = options.env ?? platform.env?.() ?? {};
  if (source !== undefined && (typeof source !== "string" || isConnectionString(source))) {
    return parseConfig(source, { env });
  }
  // Grows as files are read; known before each is parsed, so errors about a broken file mask them.
  const secrets = inputSecrets(source ?? {}, env);
  try {
    if (source !== undefined) {
      return resolveLayers([await fileLayer(platform, source, env, "loadConfig argument", secrets)], env, secrets);
    }
    const layers: Layer[] = [];
    const url = databaseUrlLayer(env);
    if (url) layers.push(url);
    if (env.DEWEY_CONFIG) layers.push(await fileLayer(platform, env.DEWEY_CONFIG, env, "env DEWEY_CONFIG", secrets));
    else if (await platform.fileExists?.(DEFAULT_CONFIG_FILE)) {
      layers.push(await fileLayer(platform, DEFAULT_CONFIG_FILE, env, "default", secrets));
    }
    return resolveLayers(layers, env, secrets);
  } catch (e) {
    throw new Redactor(secrets).redactError(e);
  }
}

/** `named` says where the file name came from, for errors about the file itself; the file's secrets go to `secrets`. */
async function fileLayer(
  platform: Platform,
  file: string,
  env: Env,
  named: string,
  secrets: Set<string>,
): Promise<Layer> {
  const fail = (message: string, cause?: unknown): never => {
    throw new ConfigError([{ path: "database", message, source: named }], { cause });
  };
  if (isConnectionString(file)) fail("expected a config file path, found a connection string; set DATABASE_URL to it");
  // A file name is quoted, so whatever in it reads as credentials is masked where it stands, however short.
  const quoted = `"${maskCredentials(file)}"`;
  if (!platform.readTextFile) fail(`cannot read ${quoted}: this runtime has no file access; pass an object or URL`);
  if (!(await platform.fileExists?.(file) ?? true)) fail(`config file ${quoted} not found`);
  let text = "";
  try {
    text = await platform.readTextFile!(file);
  } catch (e) {
    fail(`cannot read config file ${quoted}: ${e instanceof Error ? maskCredentials(e.message) : String(e)}`, e);
  }
  // Loaded only when a file is read: the YAML parser is a large share of start-up time otherwise.
  for (const secret of yamlSecrets(text, env, isConfigKey).secrets) secrets.add(secret);
  const { parseYaml } = await import("./yaml.ts");
  const { value, sources } = parseYaml(text, file);
  return objectLayer(value, { env, sources, origin: file });
}
