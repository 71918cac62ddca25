/**
 * YAML with line numbers: the parsed document plus the line of every key
 * path, so errors and `sources` can say `config/dewey.yaml:5`. Kept out of
 * `parse.ts`, which must stay free of the YAML parser for edge bundles.
 *
 * @module
 */

import { isMap, isPair, isScalar, isSeq, LineCounter, type Node, parseDocument } from "yaml";
import { ConfigError, type ConfigIssue } from "../errors.ts";

/**
 * A parsed YAML file.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseYaml, type YamlFile } from "./yaml.ts";
 * const file: YamlFile = parseYaml("a:\n  - x\n", "f.yaml");
 * assert(file.sources["a[0]"] === "f.yaml:2");
 * ```
 */
export interface YamlFile {
  /** The document as plain JavaScript values. */
  readonly value: unknown;
  /** `file:line` of each key path (`database.postgres.host`, `database.postgres.replicas[1]`). */
  readonly sources: Readonly<Record<string, string>>;
}

/**
 * Parses `text`, read from `file`, recording the line of every key and list item.
 *
 * @throws {ConfigError} for syntax errors, each with its `file:line` and the
 * key path around it. The YAML parser's source excerpts are left out: the
 * offending line may hold a password.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseYaml } from "./yaml.ts";
 * const { value, sources } = parseYaml("database:\n  postgres:\n    port: 5432\n", "dewey.yaml");
 * assert(sources["database.postgres.port"] === "dewey.yaml:3");
 * assert((value as { database: { postgres: { port: number } } }).database.postgres.port === 5432);
 * ```
 */
export function parseYaml(text: string, file: string): YamlFile {
  const lines = new LineCounter();
  // `merge` enables `<<: *anchor`, handy for sharing settings between environments.
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, merge: true });
  const at = (offset: number) => `${file}:${lines.linePos(offset).line}`;
  if (doc.errors.length) {
    const issues: ConfigIssue[] = doc.errors.map((error) => {
      const found = pathAt(doc.contents, error.pos[0], "");
      const message = `YAML syntax error: ${error.message.split("\n")[0].replace(/ at line \d+, column \d+:?$/, "")}`;
      return { path: found?.path || "database", message, source: at(found?.offset ?? error.pos[0]) };
    });
    throw new ConfigError(issues);
  }
  const sources: Record<string, string> = {};
  collectLines(doc.contents, "", (path, offset) => (sources[path] = at(offset)));
  try {
    return { value: doc.toJS(), sources };
  } catch (e) {
    // toJS throws on alias bombs and the like; its message names no values.
    const message = `YAML error: ${e instanceof Error ? e.message : String(e)}`;
    throw new ConfigError([{ path: "database", message, source: file }], { cause: e });
  }
}

function keyOf(node: unknown): string {
  return isScalar(node) ? String(node.value) : String(node);
}

function collectLines(node: unknown, path: string, record: (path: string, offset: number) => void): void {
  if (isMap(node)) {
    for (const pair of node.items) {
      const p = path ? `${path}.${keyOf(pair.key)}` : keyOf(pair.key);
      const range = (pair.key as Node | null)?.range;
      if (range) record(p, range[0]);
      collectLines(pair.value, p, record);
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, i) => {
      const range = (item as Node | null)?.range;
      if (range) record(`${path}[${i}]`, range[0]);
      collectLines(item, `${path}[${i}]`, record);
    });
  }
}

/** The deepest key path whose key or value spans `offset`, and where its key starts. */
function pathAt(node: unknown, offset: number, path: string): { path: string; offset: number } | undefined {
  if (!isMap(node) && !isSeq(node)) return undefined;
  const items: unknown[] = node.items;
  for (const [i, item] of items.entries()) {
    const key = isPair(item) ? item.key as Node | null : null;
    const value = isPair(item) ? item.value as Node | null : item as Node | null;
    const p = isPair(item) ? (path ? `${path}.${keyOf(item.key)}` : keyOf(item.key)) : `${path}[${i}]`;
    const start = key?.range?.[0] ?? value?.range?.[0];
    const end = value?.range?.[2] ?? key?.range?.[2];
    if (start === undefined || end === undefined || offset < start || offset > end) continue;
    return pathAt(value, offset, p) ?? { path: p, offset: start };
  }
  return undefined;
}
