/**
 * The configuration as the doctor prints it: one entry per key, secrets
 * masked, durations readable, each with where its value came from.
 *
 * @module
 */

import type { DatabaseConfig } from "../src/config/types.ts";
import { Secret } from "../src/redact.ts";
import type { ConfigEntry } from "./types.ts";

/** Keys holding milliseconds. */
const DURATIONS = new Set([
  "connect_timeout",
  "keepalives_idle",
  "statement_timeout",
  "pool_acquire_timeout",
  "pool_idle_timeout",
  "pool_max_lifetime",
  "pre_ping",
  "leak_detection_threshold",
  "close_timeout",
  "health_check_interval",
  "reconnect_backoff_base",
  "reconnect_backoff_max",
  "max_replica_lag",
]);

/** Keys where 0 means "off" rather than "no time at all". */
const ZERO_IS_OFF = new Set([
  "pool_idle_timeout",
  "pool_max_lifetime",
  "leak_detection_threshold",
  "health_check_interval",
]);

/**
 * A duration in ms as the YAML would say it: `500ms`, `10s`, `5m`, `1h`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatDuration } from "./config_table.ts";
 * assert(formatDuration(10_000) === "10s" && formatDuration(1_800_000) === "30m" && formatDuration(250) === "250ms");
 * ```
 */
export function formatDuration(ms: number): string {
  if (ms !== 0 && ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms !== 0 && ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms !== 0 && ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

/**
 * Every key of `config` with its printable value and its source, in the
 * config's own order. Host and port lists print as `a,b`; secrets as `***`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseConfig } from "../src/config/parse.ts";
 * import { configEntries } from "./config_table.ts";
 * const entries = configEntries(parseConfig("postgres://app:hunter2@db/shop?connect_timeout=5", { env: {} }));
 * const get = (k: string) => entries.find((e) => e.key === k);
 * assert(get("password")?.value === "***" && get("password")?.source === "url");
 * assert(get("connect_timeout")?.value === "5s" && get("pool_max")?.source === "default");
 * ```
 */
export function configEntries(config: DatabaseConfig): ConfigEntry[] {
  const entries: ConfigEntry[] = [];
  for (const [key, value] of Object.entries(config)) {
    if (key === "hosts" || key === "sources") continue;
    let shown: string;
    if (key === "host") shown = config.hosts.map((h) => h.host).join(",");
    else if (key === "port") shown = config.hosts.map((h) => h.port).join(",");
    else shown = show(key, value);
    entries.push({ key, value: shown, source: config.sources[key] ?? "default" });
  }
  return entries;
}

function show(key: string, value: unknown): string {
  if (value instanceof Secret) return "***";
  if (value === false && key === "pre_ping") return "off";
  if (typeof value === "number" && DURATIONS.has(key)) {
    return value === 0 && ZERO_IS_OFF.has(key) ? "0 (off)" : formatDuration(value);
  }
  if (Array.isArray(value)) {
    return value.length === 0
      ? "none"
      : value.map((r: { host: string; port: number }) => `${r.host}:${r.port}`).join(",");
  }
  if (typeof value === "string" && value.includes("-----BEGIN")) return "(inline PEM)";
  return String(value);
}
