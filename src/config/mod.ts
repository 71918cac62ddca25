/**
 * Configuration of @dewey/db: load, validate and print `database.postgres`
 * settings from YAML, URLs, objects and the environment.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseConfig, redactUrl } from "./mod.ts";
 * const config = parseConfig("postgres://app:hunter2@db/shop", { env: {} });
 * assert(config.dbname === "shop" && redactUrl("postgres://app:hunter2@db/shop") === `${config}`.replace(":5432", ""));
 * ```
 *
 * @module
 */

export { DEFAULT_CONFIG_FILE, loadConfig, type LoadConfigOptions } from "./load.ts";
export { parseConfig, type ParseConfigOptions } from "./parse.ts";
export { parseDuration } from "./duration.ts";
export { redactUrl } from "./url.ts";
export type { DatabaseConfig, DriverName, HostPort, SslMode, TargetSessionAttrs } from "./types.ts";
