/**
 * libpq's connection service file (`~/.pg_service.conf`, `PGSERVICEFILE`,
 * `pg_service.conf` in `PGSYSCONFDIR`): its INI-like format, on text already
 * read. A section `[name]` holds `keyword=value` lines (any libpq keyword but
 * `service`); blank lines and lines starting with `#` are skipped.
 *
 * @module
 */

/**
 * One `keyword=value` line of a service's section.
 *
 * @example
 * ```ts
 * import type { ServiceEntry } from "./service_file.ts";
 * const entry: ServiceEntry = { key: "host", value: "db", line: 2 };
 * ```
 */
export interface ServiceEntry {
  /** The keyword. */
  readonly key: string;
  /** The value, as written after `=`. */
  readonly value: string;
  /** Its line number. */
  readonly line: number;
}

/**
 * The section of service `name` in `text`: its entries, or `undefined` when
 * the file has no such section. A line that is not `keyword=value`, a nested
 * `service=`, and an LDAP lookup are errors (with their line).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { serviceSection } from "./service_file.ts";
 * const text = "[other]\nhost=x\n\n# ours\n[app]\nhost=db\ndbname = shop\n";
 * const section = serviceSection(text, "app");
 * assert.deepEqual(section?.entries.map((e) => [e.key, e.value, e.line]), [["host", "db", 6], ["dbname", " shop", 7]]);
 * assert(serviceSection(text, "none") === undefined);
 * ```
 */
export function serviceSection(
  text: string,
  name: string,
): { entries: ServiceEntry[]; errors: { line: number; message: string }[] } | undefined {
  const lines = text.split(/\r?\n/);
  let found: { entries: ServiceEntry[]; errors: { line: number; message: string }[] } | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === "" || line.startsWith("#")) continue;
    if (line.startsWith("[")) {
      if (found) break; // the next section: ours is over
      // As libpq: the name, then "]"; whatever follows the bracket is ignored.
      if (line.startsWith(`[${name}]`)) found = { entries: [], errors: [] };
      continue;
    }
    if (!found) continue;
    const eq = line.indexOf("=");
    if (line.startsWith("ldap")) {
      found.errors.push({ line: i + 1, message: "LDAP service lookups (ldap:// lines) are not supported" });
    } else if (eq < 0) {
      found.errors.push({ line: i + 1, message: 'syntax error: expected "keyword=value"' });
    } else if (line.slice(0, eq).trim() === "service") {
      found.errors.push({ line: i + 1, message: "nested service specifications are not supported" });
    } else {
      found.entries.push({ key: line.slice(0, eq).trim(), value: line.slice(eq + 1), line: i + 1 });
    }
  }
  return found;
}
