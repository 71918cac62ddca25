/**
 * Merges layers per key by precedence, validates the winning values, fills
 * in what libpq derives (a service's settings, the default socket, a password
 * from the password file, `fallback_application_name`, hosts from
 * `hostaddr`), checks keys against each other, and builds the configuration,
 * or throws one {@linkcode ConfigError} listing every problem.
 *
 * @module
 */

import { ConfigError, type ConfigIssue } from "../errors.ts";
import { Secret } from "../redact.ts";
import { buildConfig, type CompleteValues } from "./build.ts";
import { crossCheck } from "./cross_check.ts";
import { DEFAULTS } from "./defaults.ts";
import { pgEnvLayer } from "./env.ts";
import type { Env } from "./interpolate.ts";
import { entriesLayer, type Layer, SECTION, type Setting } from "./layers.ts";
import type { LibpqFiles } from "./libpq_files.ts";
import { checkValue, type FieldName } from "./schema.ts";
import type { DatabaseConfig } from "./types.ts";

/**
 * Resolves `layers` (highest precedence first) over the settings of the
 * `service` they (or `PGSERVICE`) name, the PG* variables of `env`, and the
 * defaults. Problems of overridden values are not reported: a value that
 * loses is never evaluated. `secrets`, found in the raw input, go to the
 * configuration's redactor with the parsed secret values and any password a
 * service or password file gave. `files` reads libpq's files (service and
 * password files, the default socket); without it none is read.
 *
 * @throws {ConfigError} listing every problem, each with its key path and source.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolveLayers } from "./resolve.ts";
 * import { urlLayer } from "./layers.ts";
 * const config = resolveLayers([urlLayer("postgres://app@db/shop", "url")], { PGPORT: "6432" });
 * assert(config.port === 6432 && config.sources.port === "PGPORT" && config.sources.host === "url");
 * ```
 */
export function resolveLayers(
  layers: readonly Layer[],
  env: Env,
  secrets: Iterable<string> = [],
  files?: LibpqFiles,
): DatabaseConfig {
  const known = new Set(secrets);
  const envLayer = pgEnvLayer(env);
  const all = [...layers];
  const service = serviceName([...layers, envLayer]);
  if (service !== undefined) all.push(serviceLayer(service, env, files, known));
  all.push(envLayer);
  const issues: ConfigIssue[] = all.flatMap((layer) => layer.issues);
  const winners = new Map<FieldName, Setting>();
  for (const layer of all) {
    for (const [key, setting] of layer.settings) if (!winners.has(key)) winners.set(key, setting);
  }
  const values: Partial<Record<FieldName, unknown>> = {};
  const sources: Record<string, string> = {};
  const failed = new Set<FieldName>();
  for (const [key, setting] of winners) {
    if (setting.issues?.length) {
      failed.add(key);
      issues.push(...setting.issues);
      continue;
    }
    const result = checkValue(setting.key, setting.value);
    if (result.issues) {
      failed.add(key);
      for (const i of result.issues) {
        const source = sourceAt(setting, i.at);
        issues.push({ path: `${SECTION}.${setting.key}${i.at}`, message: i.message, source });
      }
      continue;
    }
    values[key] = result.value;
    sources[key] = setting.source;
  }
  for (const key of Object.keys(DEFAULTS)) sources[key] ??= "default";
  const complete = { ...DEFAULTS, ...values } as CompleteValues;
  if (!winners.has("dbname")) sources.dbname = "default (user)";
  if (complete.pgbouncer && complete.prepare) sources.prepare = `off because of pgbouncer (${sources.pgbouncer})`;
  if (!winners.has("application_name") && complete.fallback_application_name !== undefined) {
    complete.application_name = complete.fallback_application_name;
    sources.application_name = `fallback_application_name (${sources.fallback_application_name})`;
  }
  if (!winners.has("host")) defaultHost(complete, sources, files, winners.has("hostaddr"));
  const passwords = winners.has("password") || complete.driver === "pglite"
    ? []
    : passwordFile(complete, sources, env, files, known);
  issues.push(...crossCheck(complete, sources, failed));
  if (issues.length) throw new ConfigError(issues);
  return buildConfig(complete, sources, known, passwords);
}

/** The service the highest layer names (`service`, `PGSERVICE`), if any. */
function serviceName(layers: readonly Layer[]): string | undefined {
  for (const layer of layers) {
    const value = layer.settings.get("service")?.value;
    if (typeof value === "string" && value.trim()) return value.trim();
  }
  return undefined;
}

/** The settings of `service`; its secrets go to `secrets`. */
function serviceLayer(service: string, env: Env, files: LibpqFiles | undefined, secrets: Set<string>): Layer {
  if (!files) {
    const message = `service "${service}" is defined in a service file, and this runtime reads no files`;
    return { settings: new Map(), issues: [{ path: `${SECTION}.service`, message }] };
  }
  const found = files.service(service, env);
  const layer = entriesLayer(found.entries, [...found.issues]);
  for (const key of ["password", "sslpassword", "sslkey"] as const) {
    const value = layer.settings.get(key)?.value;
    if (typeof value === "string" && value) secrets.add(value);
  }
  return layer;
}

/**
 * No host set: `hostaddr`'s addresses, else libpq's default, the Unix socket
 * in its default directory when it exists, else `localhost`.
 */
function defaultHost(
  v: CompleteValues,
  sources: Record<string, string>,
  files: LibpqFiles | undefined,
  hostaddr: boolean,
): void {
  if (hostaddr && v.hostaddr) {
    v.host = [...v.hostaddr];
    sources.host = `hostaddr (${sources.hostaddr})`;
    return;
  }
  if (!files || v.driver !== "postgres") return;
  const socket = files.defaultSocket(v.port[0]);
  if (socket.dir !== undefined) {
    v.host = [socket.dir];
    sources.host = `default (the Unix socket ${socket.dir}/.s.PGSQL.${v.port[0]} exists)`;
  } else sources.host = `default (no Unix socket at ${socket.looked})`;
}

/**
 * libpq's password file, read when no password is set: the password of each
 * host's matching line (undefined where none matches). The first host's goes
 * into `password`; `sources` says where it came from, or why none did.
 */
function passwordFile(
  v: CompleteValues,
  sources: Record<string, string>,
  env: Env,
  files: LibpqFiles | undefined,
  secrets: Set<string>,
): (Secret | undefined)[] {
  const file = files?.passfile(v.passfile, env);
  if (!files || file === undefined) return [];
  const passwords: (Secret | undefined)[] = [];
  let note: string | undefined;
  for (const [i, host] of v.host.entries()) {
    const port = v.port.length === 1 ? v.port[0] : v.port[i];
    const found = files.password(file, { host, port, dbname: v.dbname ?? v.user, user: v.user });
    if (found.missing) {
      if (v.passfile !== undefined) sources.password = `password file ${file} does not exist`;
      return [];
    }
    note ??= found.note;
    if (found.password === undefined) {
      passwords.push(undefined);
      continue;
    }
    secrets.add(found.password);
    const password = new Secret(found.password);
    passwords.push(password);
    if (i === 0) {
      v.password = password;
      sources.password = found.source ?? file;
    }
  }
  if (v.passfile === undefined && (passwords.some((p) => p) || note)) {
    v.passfile = file;
    sources.passfile = "default (~/.pgpass)";
  }
  if (v.password === undefined) sources.password = note ?? `password file ${file}: no line matches`;
  return passwords;
}

/** The source of the innermost recorded item around `at` (`[0].port` falls back to `[0]`, then the key). */
function sourceAt(setting: Setting, at: string): string {
  const parts = at.match(/\[\d+\]|\.[^.[]+/g) ?? [];
  for (let n = parts.length; n > 0; n--) {
    const source = setting.itemSources?.[parts.slice(0, n).join("")];
    if (source) return source;
  }
  return setting.source;
}
