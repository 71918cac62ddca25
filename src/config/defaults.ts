/**
 * Default values, in the schema's typed form (durations in ms); `dbname`
 * defaults to the user. The only place defaults are written: the
 * configuration reference (`deno task docs`) and the doctor read them
 * through `keys.ts`, which documents every key.
 *
 * @module
 */

import type { DatabaseConfig } from "./types.ts";
import type { FieldValues } from "./schema.ts";

/**
 * Every key's default, where it has one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DEFAULTS } from "./defaults.ts";
 * assert(DEFAULTS.pool_max === 10 && DEFAULTS.connect_timeout === 10_000);
 * ```
 */
export const DEFAULTS = {
  driver: "postgres",
  host: ["localhost"],
  port: [5432],
  user: "postgres",
  sslmode: "prefer",
  channel_binding: "prefer",
  sslnegotiation: "postgres",
  sslcertmode: "allow",
  sslsni: true,
  ssl_min_protocol_version: "TLSv1.2",
  application_name: "dewey",
  client_encoding: "UTF8",
  connect_timeout: 10_000,
  keepalives: true,
  keepalives_idle: 60_000,
  pool_min: 1,
  pool_max: 10,
  pool_acquire_timeout: 30_000,
  pool_idle_timeout: 600_000,
  pool_max_lifetime: 1_800_000,
  pre_ping: 1_000,
  leak_detection_threshold: 0,
  close_timeout: 10_000,
  health_check_interval: 300_000,
  reconnect_backoff_base: 100,
  reconnect_backoff_max: 10_000,
  prepare: true,
  pgbouncer: false,
  target_session_attrs: "any",
  load_balance_hosts: "disable",
  replicas: [],
  neon_http: false,
} as const satisfies Partial<FieldValues> & Partial<Record<keyof DatabaseConfig, unknown>>;
