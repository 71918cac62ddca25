/**
 * The environment as a configuration source: libpq's PG* variables, the
 * lowest layer above the defaults, and `DATABASE_URL`.
 *
 * @module
 */

import type { Env } from "./interpolate.ts";
import { connectionStringLayer, entriesLayer, type Layer } from "./layers.ts";
import { LIBPQ_PARAMETERS } from "./libpq.ts";

/**
 * libpq's variables and the key each fills, one per libpq parameter that has
 * one (see `libpq.ts`); a variable of a parameter this library refuses is
 * refused too. `PGSERVICEFILE` and `PGSYSCONFDIR` name service files instead.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PG_VARIABLES } from "./env.ts";
 * assert(PG_VARIABLES.PGDATABASE === "dbname" && PG_VARIABLES.PGAPPNAME === "application_name");
 * assert(PG_VARIABLES.PGCHANNELBINDING === "channel_binding" && PG_VARIABLES.PGOPTIONS === "options");
 * ```
 */
export const PG_VARIABLES: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries(LIBPQ_PARAMETERS).flatMap(([key, p]) => p.env ? [[p.env, key]] : []),
);

/**
 * The layer of the PG* variables set (non-empty) in `env`; each value's
 * source is its variable's name. Like libpq, `PGHOST` and `PGPORT` may be
 * comma-separated lists, and the deprecated `PGREQUIRESSL=1` means
 * `sslmode=require` unless `PGSSLMODE` is set.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { pgEnvLayer } from "./env.ts";
 * const layer = pgEnvLayer({ PGHOST: "db", PGPORT: "6432", HOME: "/root" });
 * assert(layer.settings.get("port")?.source === "PGPORT" && layer.settings.size === 2);
 * ```
 */
export function pgEnvLayer(env: Env): Layer {
  const entries = Object.entries(PG_VARIABLES).flatMap(([name, key]) => {
    // libpq reads PGREQUIRESSL only when it starts with "1", and only without PGSSLMODE.
    if (!env[name] || (name === "PGREQUIRESSL" && (env.PGSSLMODE || !env[name]?.startsWith("1")))) return [];
    return [{ key, value: env[name], source: name }];
  });
  return entriesLayer(entries);
}

/**
 * The layer of `DATABASE_URL`, or `undefined` when it is unset or empty.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { databaseUrlLayer } from "./env.ts";
 * const layer = databaseUrlLayer({ DATABASE_URL: "postgres://app@db/shop" });
 * assert(layer?.settings.get("dbname")?.source === "DATABASE_URL");
 * assert(databaseUrlLayer({}) === undefined);
 * ```
 */
export function databaseUrlLayer(env: Env): Layer | undefined {
  const url = env.DATABASE_URL;
  return url ? connectionStringLayer(url, "DATABASE_URL") : undefined;
}
