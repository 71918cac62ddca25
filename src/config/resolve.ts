/**
 * Merges layers per key by precedence, validates the winning values, checks
 * keys against each other, and builds the configuration, or throws one
 * {@linkcode ConfigError} listing every problem.
 *
 * @module
 */

import { ConfigError, type ConfigIssue } from "../errors.ts";
import { buildConfig, type CompleteValues } from "./build.ts";
import { DEFAULTS } from "./defaults.ts";
import { pgEnvLayer } from "./env.ts";
import type { Env } from "./interpolate.ts";
import { type Layer, SECTION, type Setting } from "./layers.ts";
import { checkValue, type FieldName } from "./schema.ts";
import type { DatabaseConfig } from "./types.ts";

/**
 * Resolves `layers` (highest precedence first) over the PG* variables of
 * `env` and the defaults. Problems of overridden values are not reported: a
 * value that loses is never evaluated. `secrets`, found in the raw input,
 * go to the configuration's redactor with the parsed secret values.
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
export function resolveLayers(layers: readonly Layer[], env: Env, secrets: Iterable<string> = []): DatabaseConfig {
  const all = [...layers, pgEnvLayer(env)];
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
  issues.push(...crossCheck(complete, sources, failed));
  if (issues.length) throw new ConfigError(issues);
  return buildConfig(complete, sources, secrets);
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

/** Rules between keys; a key that already failed is left out, to report each problem once. */
function crossCheck(v: CompleteValues, sources: Record<string, string>, failed: Set<FieldName>): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const ok = (...keys: FieldName[]) => keys.every((k) => !failed.has(k));
  const issue = (key: FieldName, message: string) =>
    issues.push({ path: `${SECTION}.${key}`, message, source: sources[key] });
  if (ok("pool_min", "pool_max") && v.pool_min > v.pool_max) {
    issue("pool_min", `expected at most pool_max (${v.pool_max}), found ${v.pool_min}`);
  }
  if (ok("reconnect_backoff_base", "reconnect_backoff_max") && v.reconnect_backoff_base > v.reconnect_backoff_max) {
    const found = `${v.reconnect_backoff_base} ms`;
    issue(
      "reconnect_backoff_base",
      `expected at most reconnect_backoff_max (${v.reconnect_backoff_max} ms), found ${found}`,
    );
  }
  if (ok("host", "port") && v.port.length !== 1 && v.port.length !== v.host.length) {
    const hosts = `${v.host.length} host${v.host.length === 1 ? "" : "s"}`;
    issue("port", `expected one port for all hosts or one per host (${hosts}), found ${v.port.length} ports`);
  }
  return issues;
}
