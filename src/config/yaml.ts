/**
 * YAML with line numbers: the parsed document plus the line of every key
 * path, so errors and `sources` can say `config/dewey.yaml:5`. Kept out of
 * `parse.ts`, which must stay free of the YAML parser for edge bundles.
 *
 * @module
 */

import { isMap, isPair, isScalar, isSeq, LineCounter, type Node, parseDocument } from "yaml";
import { ConfigError, type ConfigIssue } from "../errors.ts";
import { isConfigKey, resolveKey } from "./schema.ts";
import { isSecretKey, yamlSecrets } from "./secrets.ts";

const FLOWS = ["flow map", "flow sequence"];
/** The YAML parser's messages that quote nothing from the document; any other is not shown for a secret's lines. */
const QUOTE_FREE = new Set([
  "A block sequence may not be used as an implicit map key",
  "A node can have at most one anchor",
  "A node can have at most one tag",
  "Alias cannot be an empty string",
  "Alias ending in : is ambiguous",
  "All sequence items must start at the same column",
  "An alias node must not specify any properties",
  "Anchor cannot be an empty string",
  "Anchor ending in : is ambiguous",
  "Comments must be separated from other tokens by white space characters",
  "Implicit keys need to be on a single line",
  "Implicit map keys need to be followed by map values",
  "Map keys must be unique",
  'Missing closing "quote',
  "Missing closing 'quote",
  "Nested mappings are not allowed in compact mappings",
  "Sequence item without - indicator",
  "Tabs are not allowed as indentation",
  "Tags and anchors must be separated from the next token by white space",
  ...FLOWS.flatMap((f) => [
    `Missing , between ${f} items`,
    `Missing , or : between ${f} items`,
    `Missing space after : in ${f}`,
    `Unexpected , in ${f}`,
    `Unexpected empty item in ${f}`,
  ]),
]);
/** What the parser's error codes mean, for the lines of a secret, whose messages may quote it. */
const CODE_MEANINGS: Readonly<Record<string, string>> = {
  ALIAS_PROPS: 'an alias (a value starting with "*"); quote the value',
  BAD_ALIAS: 'an alias or anchor (a value starting with "*" or "&"); quote the value',
  BAD_DQ_ESCAPE: 'an invalid escape sequence in a double-quoted value; write "\\\\" for a backslash',
  BAD_INDENT: "bad indentation",
  BAD_PROP_ORDER: 'a value starting with "&" or "!"; quote the value',
  BAD_SCALAR_START: "a value starting with a character YAML reserves; quote the value",
  BLOCK_AS_IMPLICIT_KEY: 'a value holding ": "; quote the value',
  DUPLICATE_KEY: "a key set twice",
  MISSING_CHAR: "a missing character (an unclosed quote or bracket?)",
  MULTILINE_IMPLICIT_KEY: "a value running over several lines; quote it or indent its continuation",
  TAB_AS_INDENT: "tabs are not allowed as indentation",
  TAG_RESOLVE_FAILED: 'a value starting with "!"; quote the value',
  UNEXPECTED_TOKEN: "an unexpected character; quote the value",
};

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
 * key path around it. Key paths are built from known keys only (a broken
 * line can turn a value into a key) and stop at a secret key. The parser's
 * source excerpts are left out, and on the lines of a secret key and its
 * value only messages known to quote nothing are kept; others are replaced by
 * what their error code means.
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
  // logLevel "error": the parser's warnings go to the console and quote the document.
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, merge: true, logLevel: "error" });
  const at = (offset: number) => `${file}:${lines.linePos(offset).line}`;
  const { lines: secretLines, keyLines } = yamlSecrets(text, {}, isConfigKey);
  if (doc.errors.length) {
    const issues: ConfigIssue[] = doc.errors.map((error) => {
      const found = pathAt(doc.contents, error.pos[0], "");
      // What follows ": " in a parser message quotes the document ("Not a YAML token: ..."); it is never shown.
      const first = error.message.split("\n")[0].replace(/ at line \d+, column \d+:?$/, "");
      const said = QUOTE_FREE.has(first) ? first : first.split(": ")[0];
      const hidden = found?.secret || secretLines.has(lines.linePos(error.pos[0]).line);
      const meaning = CODE_MEANINGS[error.code] ?? `error ${error.code}`;
      const message = `YAML syntax error: ${
        !hidden || QUOTE_FREE.has(said) ? said : `${meaning} (in a secret's value)`
      }`;
      return { path: found?.path || "database", message, source: at(found?.offset ?? error.pos[0]) };
    });
    // The parser may report one problem twice; once is enough.
    const unique = new Map(issues.map((i) => [`${i.path}\n${i.message}\n${i.source}`, i]));
    throw new ConfigError([...unique.values()]);
  }
  const sources: Record<string, string> = {};
  const strays: ConfigIssue[] = [];
  collectLines(doc.contents, "", "", (path, safe, offset, name) => {
    sources[path] = at(offset);
    if (name === null) {
      strays.push({ path: safe || "database", message: "a mapping or list used as a key", source: at(offset) });
      return;
    }
    // A key where a secret's value goes (`password: a: b`, a password on the next line ending in ":") is
    // really a piece of the secret: never quote it, as an unknown key would be.
    const line = lines.linePos(offset).line;
    // On a secret key's own line other keys may stand beside it in a flow mapping: only odd names are suspect there.
    const odd = keyLines.has(line) ? !/^[A-Za-z_][\w.-]*$/.test(name ?? "") : secretLines.has(line);
    if (name !== undefined && !isKnownKey(name) && odd) {
      const message = 'a key inside the value of a secret key; quote the secret (it may hold ": " or " #")';
      strays.push({ path: safe || "database", message, source: at(offset) });
    }
  });
  if (strays.length) throw new ConfigError(strays);
  try {
    return { value: doc.toJS(), sources };
  } catch (e) {
    // toJS throws on unresolved aliases and alias bombs; what follows ": " quotes the document (`*S3cret`),
    // so neither that nor the parser's error is passed on.
    const said = e instanceof Error ? e.message.split(": ")[0] : "invalid document";
    throw new ConfigError([{ path: "database", message: `YAML error: ${said}`, source: file }]);
  }
}

function isKnownKey(name: string): boolean {
  return name === "database" || name === "postgres" || resolveKey(name).key !== undefined;
}

function keyOf(node: unknown): string {
  return isScalar(node) ? String(node.value) : String(node);
}

/**
 * Calls `record` with each key path and list item, its known-keys-only form,
 * where it starts, and the key's name (`null` for a mapping or list as a key).
 */
function collectLines(
  node: unknown,
  path: string,
  safe: string,
  record: (path: string, safe: string, offset: number, name?: string | null) => void,
): void {
  if (isMap(node)) {
    for (const pair of node.items) {
      const name = keyOf(pair.key);
      // A collection as a key stringifies to its whole text; it is reported as a stray key, never quoted.
      const scalar = pair.key === null || isScalar(pair.key);
      const p = path ? `${path}.${name}` : name;
      // The known-keys-only path stops at the first unknown key and below a secret one.
      const s = safe === path && isKnownKey(name) && !isSecretKey(path.split(".").pop() ?? "") ? p : safe;
      const range = (pair.key as Node | null)?.range;
      if (range) record(p, s, range[0], scalar ? name : null);
      collectLines(pair.value, p, s, record);
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, i) => {
      const p = `${path}[${i}]`;
      const s = safe === path ? p : safe;
      const range = (item as Node | null)?.range;
      if (range) record(p, s, range[0]);
      collectLines(item, p, s, record);
    });
  }
}

/**
 * The deepest key path whose key or value spans `offset`, where its key
 * starts, and whether it lies in a secret's value. The path holds known keys
 * only and goes no deeper than a secret key.
 */
function pathAt(
  node: unknown,
  offset: number,
  path: string,
): { path: string; offset: number; secret: boolean } | undefined {
  if (!isMap(node) && !isSeq(node)) return undefined;
  const items: unknown[] = node.items;
  for (const [i, item] of items.entries()) {
    const key = isPair(item) ? item.key as Node | null : null;
    const value = isPair(item) ? item.value as Node | null : item as Node | null;
    const start = key?.range?.[0] ?? value?.range?.[0];
    const end = value?.range?.[2] ?? key?.range?.[2];
    if (start === undefined || end === undefined || offset < start || offset > end) continue;
    const name = isPair(item) ? keyOf(item.key) : undefined;
    if (name === undefined) {
      return pathAt(value, offset, `${path}[${i}]`) ?? { path: `${path}[${i}]`, offset: start, secret: false };
    }
    const known = isKnownKey(name);
    const here = { path: known ? (path ? `${path}.${name}` : name) : path, offset: start, secret: isSecretKey(name) };
    if (here.secret || !known) return here;
    return pathAt(value, offset, here.path) ?? here;
  }
  return undefined;
}
