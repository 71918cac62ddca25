/**
 * Layers: the `database.postgres` values one source provides (an object or
 * file, a URL, the PG* variables), each with where it came from. Layers are
 * merged per key by precedence later; nothing here validates values.
 *
 * @module
 */

import type { ConfigIssue } from "../errors.ts";
import { type Env, interpolate } from "./interpolate.ts";
import { type FieldName, resolveKey } from "./schema.ts";
import { closest } from "./suggest.ts";
import { parseKeywordString } from "./conninfo.ts";
import { isKeywordString, isUrl, type ParsedUrl, parseUrl } from "./url.ts";

/**
 * The key path every issue starts with.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SECTION } from "./layers.ts";
 * assert(`${SECTION}.port` === "database.postgres.port");
 * ```
 */
export const SECTION = "database.postgres";

/**
 * One key's raw value from one layer.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { Setting } from "./layers.ts";
 * const port: Setting = { key: "port", value: "5432", source: "env DB_PORT (config/dewey.yaml:5)" };
 * assert(port.key === "port");
 * ```
 */
export interface Setting {
  /** The key as written (an alias such as `dataDir` keeps its own spelling). */
  readonly key: FieldName;
  /** The raw value, already interpolated. */
  readonly value: unknown;
  /** Where it came from: `config/dewey.yaml:4`, `env DB_PORT (config/dewey.yaml:5)`, `PGPORT`, `url`... */
  readonly source: string;
  /** Sources of list items and nested keys, by path below the key (`[1]`, `[0].port`). */
  readonly itemSources?: Readonly<Record<string, string>>;
  /** Problems met while reading it (interpolation); they count only if this setting wins. */
  readonly issues?: readonly ConfigIssue[];
}

/**
 * The settings of one source, by canonical key, and the structural problems found in it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type Layer, urlLayer } from "./layers.ts";
 * const layer: Layer = urlLayer("pglite://memory?dataDir=/x", "url");
 * assert(layer.settings.get("data_dir")?.key === "dataDir" && layer.issues.length === 0);
 * ```
 */
export interface Layer {
  /** Settings by canonical key (`data_dir` for `dataDir`). */
  readonly settings: ReadonlyMap<FieldName, Setting>;
  /** Problems that hold whatever wins: unknown keys, malformed URLs. */
  readonly issues: readonly ConfigIssue[];
}

/**
 * Options of {@linkcode objectLayer}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { ObjectLayerOptions } from "./layers.ts";
 * const options: ObjectLayerOptions = { env: {}, sources: { "database.postgres.port": "app.yaml:5" } };
 * assert(options.origin === undefined);
 * ```
 */
export interface ObjectLayerOptions {
  /** Variables for `${...}` interpolation. */
  readonly env: Env;
  /** Line of each key path of the input document (`database.postgres.port` → `config/dewey.yaml:5`). */
  readonly sources?: Readonly<Record<string, string>>;
  /** Source of values without a line: `object` by default. */
  readonly origin?: string;
}

/**
 * A setting whose key is not checked yet: the input of {@linkcode entriesLayer}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { LayerEntry } from "./layers.ts";
 * const entry: LayerEntry = { key: "PORT", value: "5432", source: "test" };
 * assert(entry.key === "PORT");
 * ```
 */
export type LayerEntry = Omit<Setting, "key"> & { readonly key: string };

/**
 * Builds a layer from entries, dropping empty values (an empty string means
 * "unset", so lower layers and defaults apply) and reporting unknown keys
 * and a key set together with its alias.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { entriesLayer } from "./layers.ts";
 * const layer = entriesLayer([{ key: "PORT", value: "5432", source: "test" }, { key: "password", value: "", source: "test" }]);
 * assert(layer.settings.size === 0 && layer.issues[0].message === 'unknown key "PORT" (did you mean "port"?)');
 * ```
 */
export function entriesLayer(entries: Iterable<LayerEntry>, issues: ConfigIssue[] = []): Layer {
  const settings = new Map<FieldName, Setting>();
  const written = new Map<FieldName, string>();
  for (const entry of entries) {
    const path = `${SECTION}.${entry.key}`;
    const resolved = resolveKey(entry.key);
    if (resolved.key === undefined) {
      issues.push({ path, message: resolved.message, source: entry.source });
      continue;
    }
    const other = written.get(resolved.key);
    if (other !== undefined && other !== entry.key) {
      issues.push({
        path,
        message: `"${entry.key}" and "${other}" are the same setting; keep one`,
        source: entry.source,
      });
      continue;
    }
    written.set(resolved.key, entry.key);
    const empty = entry.value === "" || entry.value === null || entry.value === undefined;
    if (empty && !entry.issues?.length) continue;
    settings.set(resolved.key, { ...entry, key: entry.key as FieldName });
  }
  return { settings, issues };
}

/**
 * The layer of a configuration object: the whole file (`{ database: {
 * postgres } }`), the database section (`{ postgres }`) or the flat postgres
 * section. Strings are interpolated (`${VAR}`...); each value's source is its
 * line in `options.sources` when given, plus the env vars it used.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { objectLayer } from "./layers.ts";
 * const layer = objectLayer(
 *   { database: { postgres: { host: "${DB_HOST}" } } },
 *   { env: { DB_HOST: "db" }, sources: { "database.postgres.host": "config/dewey.yaml:3" } },
 * );
 * const host = layer.settings.get("host");
 * assert(host?.value === "db" && host.source === "env DB_HOST (config/dewey.yaml:3)");
 * ```
 */
export function objectLayer(input: unknown, options: ObjectLayerOptions): Layer {
  const origin = options.origin ?? "object";
  const lineOf = (docPath: string) => options.sources?.[docPath];
  const issues: ConfigIssue[] = [];
  const { section, prefix } = locateSection(input, issues, (p) => lineOf(p) ?? origin);
  const entries: LayerEntry[] = [];
  for (const [key, raw] of Object.entries(section)) {
    const line = lineOf(prefix + key) ?? origin;
    const path = `${SECTION}.${key}`;
    const itemSources: Record<string, string> = {};
    const settingIssues: ConfigIssue[] = [];
    const allVars = new Set<string>();
    const expand = (value: unknown, at: string): unknown => {
      const here = lineOf(prefix + key + at) ?? line;
      if (typeof value === "string") {
        const result = interpolate(value, options.env);
        if (!result.ok) {
          settingIssues.push({ path: path + at, message: result.message, source: here });
          return undefined;
        }
        result.vars.forEach((v) => allVars.add(v));
        if (at) itemSources[at] = withVars(result.vars, here);
        return result.value;
      }
      if (at) itemSources[at] = here;
      if (Array.isArray(value)) return value.map((item, i) => expand(item, `${at}[${i}]`));
      if (!isPlainObject(value)) return value;
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, expand(v, `${at}.${k}`)]));
    };
    const value = expand(raw, "");
    entries.push({ key, value, source: withVars([...allVars], line), itemSources, issues: settingIssues });
  }
  return entriesLayer(entries, issues);
}

/**
 * The layer of a connection URL; `origin` names it in sources (`url`,
 * `DATABASE_URL`). URLs are not interpolated: percent-encoding is their escape.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { urlLayer } from "./layers.ts";
 * const layer = urlLayer("postgres://app@db:6432/shop?pool_max=20", "DATABASE_URL");
 * assert(layer.settings.get("pool_max")?.value === "20");
 * assert(layer.settings.get("port")?.source === "DATABASE_URL");
 * ```
 */
export function urlLayer(url: string, origin: string): Layer {
  return parsedLayer(parseUrl(url), origin);
}

/**
 * The layer of a connection string: a URL (see {@linkcode urlLayer}) or a
 * libpq keyword/value string (`host=db dbname=app password='a b'`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { connectionStringLayer } from "./layers.ts";
 * assert(connectionStringLayer("postgres://db", "url").settings.get("host")?.value === "db");
 * assert(connectionStringLayer("host=db port=6432", "url").settings.get("port")?.value === "6432");
 * ```
 */
export function connectionStringLayer(text: string, origin: string): Layer {
  if (isUrl(text) || !isKeywordString(text)) return urlLayer(text, origin);
  return parsedLayer(parseKeywordString(text.trim()), origin);
}

function parsedLayer(parsed: ParsedUrl, origin: string): Layer {
  const issues: ConfigIssue[] = parsed.issues.map((i) => ({
    path: i.key ? `${SECTION}.${i.key}` : SECTION,
    message: i.message,
    source: origin,
  }));
  const entries = Object.entries(parsed.values).map(([key, value]) => ({ key, value, source: origin }));
  return entriesLayer(entries, issues);
}

function withVars(vars: readonly string[], line: string): string {
  return vars.length ? `env ${[...new Set(vars)].join(", ")} (${line})` : line;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Finds the postgres section in any of the three accepted shapes. */
function locateSection(
  input: unknown,
  issues: ConfigIssue[],
  sourceOf: (docPath: string) => string,
): { section: Record<string, unknown>; prefix: string } {
  const mapping = (value: unknown, path: string, docPath: string): Record<string, unknown> => {
    if (value === null || value === undefined) return {};
    if (isPlainObject(value)) return value;
    const found = Array.isArray(value) ? "a list" : `a ${typeof value}`;
    issues.push({ path, message: `expected a mapping, found ${found}`, source: sourceOf(docPath) });
    return {};
  };
  const root = mapping(input, "database", "");
  // `database: shop` is a postgres.js-style key in a flat section (reported with "did you mean dbname"), not a section.
  const isSection = (key: string) => key in root && (root[key] == null || isPlainObject(root[key]));
  if (!isSection("database") && !isSection("postgres")) return { section: root, prefix: "" };
  // The whole file may hold other applications' sections; only `database` is ours.
  const whole = isSection("database");
  const database = whole ? mapping(root.database, "database", "database") : root;
  const docPrefix = whole ? "database." : "";
  for (const key of Object.keys(database)) {
    if (key === "postgres") continue;
    const hint = closest(key, ["postgres"]);
    const message = `unknown key ${JSON.stringify(key)}${hint ? ` (did you mean "${hint}"?)` : ""}`;
    issues.push({ path: `database.${key}`, message, source: sourceOf(docPrefix + key) });
  }
  const prefix = `${docPrefix}postgres.`;
  return { section: mapping(database.postgres, SECTION, `${docPrefix}postgres`), prefix };
}
