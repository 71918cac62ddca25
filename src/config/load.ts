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
import { type LibpqFiles, libpqFiles } from "./libpq_files.ts";
import { parseConfig } from "./parse.ts";
import { resolveLayers } from "./resolve.ts";
import { isConfigKey } from "./schema.ts";
import { inputSecrets, maskCredentials, yamlSecrets } from "./secrets.ts";
import type { DatabaseConfig } from "./types.ts";
import { isConnectionString } from "./url.ts";
import type { parseYaml } from "./yaml.ts";

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
  /** libpq's files (service and password files, the default socket); by default read through `platform`. */
  files?: LibpqFiles;
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
  const files = options.files ?? libpqFiles(platform);
  // One loader, synchronous: a platform with only asynchronous reads gets its files read here first.
  let io: Pick<LoadConfigSyncOptions, "read" | "exists"> = {};
  if (!platform.readTextFileSync) {
    const texts = new Map<string, string>();
    for (const file of configFiles(source, env)) {
      if (!(await platform.fileExists?.(file) ?? true) || !platform.readTextFile) continue;
      const text = await platform.readTextFile(file).catch(() => undefined);
      if (text !== undefined) texts.set(file, text);
    }
    io = { read: platform.readTextFile && ((f) => readMap(texts, f)), exists: (f) => texts.has(f) };
  }
  const exists = io.exists ?? existsOn(platform);
  // The YAML parser is imported only when a file is read: it is a large share of start-up time otherwise.
  const yaml = configFiles(source, env).some(exists) ? (await importYaml()).parseYaml : undefined;
  return loadConfigSync(source, { ...options, env, files, ...io, yaml });
}

/** The files `loadConfig(source)` may read: the path given, or `$DEWEY_CONFIG`, or the default file. */
function configFiles(source: string | Readonly<Record<string, unknown>> | undefined, env: Env): string[] {
  if (source !== undefined) return typeof source === "string" && !isConnectionString(source) ? [source] : [];
  return [env.DEWEY_CONFIG || DEFAULT_CONFIG_FILE];
}

/** Whether a file exists, by the platform's synchronous `statSync` (assumed, to be found out by reading, without one). */
function existsOn(platform: Platform): (file: string) => boolean {
  return (file) => platform.statSync ? platform.statSync(file) !== undefined : platform.readTextFileSync !== undefined;
}

function readMap(texts: Map<string, string>, file: string): string {
  const text = texts.get(file);
  if (text === undefined) throw new Error("cannot read the file");
  return text;
}

/**
 * Imports the YAML parser. `loadConfig` does when a file is read;
 * `loadConfigSync` cannot (an import is asynchronous), so it is given one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { importYaml } from "./load.ts";
 * assert(typeof (await importYaml()).parseYaml === "function");
 * ```
 */
export function importYaml(): Promise<typeof import("./yaml.ts")> {
  return import("./yaml.ts");
}

/**
 * Options of {@linkcode loadConfigSync}: those of `loadConfig`, plus how a
 * file's existence is checked and the YAML parser, when loaded.
 *
 * @example
 * ```ts
 * import type { LoadConfigSyncOptions } from "./load.ts";
 * const options: LoadConfigSyncOptions = { env: {} };
 * ```
 */
export interface LoadConfigSyncOptions extends LoadConfigOptions {
  /** Reads a file; default `platform.readTextFileSync`. */
  read?: (file: string) => string;
  /** Whether a file exists; default `platform.statSync`. */
  exists?: (file: string) => boolean;
  /** The YAML parser (see {@linkcode importYaml}); without it a YAML file is refused. */
  yaml?: typeof parseYaml;
}

/**
 * {@linkcode loadConfig}, synchronously, reading files with the platform's
 * synchronous reads: what `new DatabaseConnection()` resolves when given no
 * configuration, and the one loader `loadConfig` runs too. A YAML file is
 * parsed only with `options.yaml` (importing the parser is asynchronous, and
 * importing it up front would slow every start); without, a `ConfigError`
 * says what to call instead.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadConfigSync } from "./load.ts";
 * const config = loadConfigSync(undefined, { env: { DATABASE_URL: "postgres://app@db/shop" } });
 * assert(config.dbname === "shop" && config.sources.dbname === "DATABASE_URL");
 * ```
 */
export function loadConfigSync(
  source?: string | Readonly<Record<string, unknown>>,
  options: LoadConfigSyncOptions = {},
): DatabaseConfig {
  const platform = options.platform ?? {};
  const env: Env = options.env ?? platform.env?.() ?? {};
  const files = options.files ?? libpqFiles(platform);
  if (source !== undefined && (typeof source !== "string" || isConnectionString(source))) {
    return parseConfig(source, { env, files });
  }
  const exists = options.exists ?? existsOn(platform);
  const io: FileIo = { read: options.read ?? platform.readTextFileSync, exists, yaml: options.yaml };
  // Grows as files are read; known before each is parsed, so errors about a broken file mask them.
  const secrets = inputSecrets(source ?? {}, env);
  try {
    if (source !== undefined) {
      return resolveLayers([fileLayer(io, source, env, "loadConfig argument", secrets)], env, secrets, files);
    }
    const layers: Layer[] = [];
    const url = databaseUrlLayer(env);
    if (url) layers.push(url);
    if (env.DEWEY_CONFIG) layers.push(fileLayer(io, env.DEWEY_CONFIG, env, "env DEWEY_CONFIG", secrets));
    else if (io.read && exists(DEFAULT_CONFIG_FILE)) {
      layers.push(fileLayer(io, DEFAULT_CONFIG_FILE, env, "default", secrets));
    }
    return resolveLayers(layers, env, secrets, files);
  } catch (e) {
    throw new Redactor(secrets).redactError(e);
  }
}

interface FileIo {
  read?: (file: string) => string;
  exists: (file: string) => boolean;
  yaml?: typeof parseYaml;
}

/** `named` says where the file name came from, for errors about the file itself; the file's secrets go to `secrets`. */
function fileLayer(io: FileIo, file: string, env: Env, named: string, secrets: Set<string>): Layer {
  const fail = (message: string, cause?: unknown): never => {
    throw new ConfigError([{ path: "database", message, source: named }], { cause });
  };
  if (isConnectionString(file)) fail("expected a config file path, found a connection string; set DATABASE_URL to it");
  // A file name is quoted, so whatever in it reads as credentials is masked where it stands, however short.
  const quoted = `"${maskCredentials(file)}"`;
  if (!io.read) fail(`cannot read ${quoted}: this runtime has no file access; pass an object or URL`);
  if (!io.exists(file)) fail(`config file ${quoted} not found`);
  let text = "";
  try {
    text = io.read!(file);
  } catch (e) {
    fail(`cannot read config file ${quoted}: ${e instanceof Error ? maskCredentials(e.message) : String(e)}`, e);
  }
  for (const secret of yamlSecrets(text, env, isConfigKey).secrets) secrets.add(secret);
  if (!io.yaml) {
    fail(
      `${quoted} is YAML, which new DatabaseConnection() cannot read without a configuration (the YAML parser ` +
        "loads asynchronously): use await getConnection(), dbManager, or new DatabaseConnection(await loadConfig())",
    );
  }
  const { value, sources } = io.yaml!(text, file);
  return objectLayer(value, { env, sources, origin: file });
}
