/**
 * The configuration as the doctor prints it: one entry per key, secrets
 * masked, durations readable, each with where its value came from.
 *
 * @module
 */

import { formatValue, KEYS } from "../src/config/keys.ts";
import type { FieldName } from "../src/config/schema.ts";
import type { DatabaseConfig } from "../src/config/types.ts";
import type { ConfigEntry } from "./types.ts";

/**
 * Every key of `config` with its printable value (as the key table formats
 * it: durations with units, secrets as `***`), its source and its meaning, in
 * the config's own order. Host and port lists print as `a,b`.
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
 * assert(get("pool_max")?.description === "Connections never exceeded.");
 * ```
 */
export function configEntries(config: DatabaseConfig): ConfigEntry[] {
  const entries: ConfigEntry[] = [];
  for (const [key, value] of Object.entries(config)) {
    if (key === "hosts" || key === "sources") continue;
    const shown = key === "host"
      ? config.hosts.map((h) => h.host).join(",")
      : key === "port"
      ? config.hosts.map((h) => h.port).join(",")
      : formatValue(key as FieldName, value);
    const description = (KEYS as Record<string, { description: string } | undefined>)[key]?.description;
    entries.push({ key, value: shown, source: config.sources[key] ?? "default", description });
  }
  // Keys set to nothing that says so: a password the password file did not give (and why), libpq keys taken off.
  for (const [key, source] of Object.entries(config.sources)) {
    if (key in config) continue;
    const description = (KEYS as Record<string, { description: string } | undefined>)[key]?.description;
    entries.push({ key, value: key === "password" ? "none" : "off", source, description });
  }
  return entries;
}
