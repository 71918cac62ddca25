/**
 * What tracing needs to know about a statement's text without a SQL parser:
 * the OpenTelemetry query summary (`SELECT users`, `INSERT orders SELECT cart`),
 * the operation and collection when the text holds a single statement, and
 * the text with its literals replaced by `?`. One lexical pass; best effort on
 * exotic syntax, never an exception.
 *
 * @module
 */

/** The parts of a statement the database semantic conventions ask for. */
export interface QueryShape {
  /** `db.query.summary`: operations and their targets in order, at most 255 characters. */
  readonly summary: string;
  /** `db.operation.name`, when the text holds one statement. */
  readonly operation?: string;
  /** `db.collection.name`, when the text holds one statement on one collection. */
  readonly collection?: string;
}

type Token = { kind: "word" | "quoted" | "literal" | "param" | "punct"; text: string; start: number; end: number };

/** Operations that name what they act on; the summary lists them with their targets. */
const OPERATIONS = new Set(["SELECT", "INSERT", "UPDATE", "DELETE", "MERGE"]);
/** Words after which a table name follows. */
const TARGET_BEFORE = new Set(["FROM", "JOIN", "INTO", "UPDATE", "TABLE", "USING"]);
/** Words that may sit between those and the table name. */
const TARGET_SKIP = new Set(["ONLY", "LATERAL", "IF", "NOT", "EXISTS"]);
/** Commands whose first argument is a table (or, for CALL, a procedure). */
const COMMAND_TARGET = new Set(["COPY", "TRUNCATE", "LOCK", "CALL", "VACUUM", "ANALYZE", "TABLE"]);
/** Words that follow FROM or INTO without naming a table. */
const NOT_TARGET = new Set(["STDIN", "STDOUT", "PROGRAM", "WITH", "AS"]);
/** Words that end a FROM list item (no alias follows). */
const CLAUSE_END = new Set([
  "WHERE",
  "GROUP",
  "ORDER",
  "LIMIT",
  "OFFSET",
  "HAVING",
  "WINDOW",
  "UNION",
  "INTERSECT",
  "EXCEPT",
  "ON",
  "JOIN",
  "INNER",
  "LEFT",
  "RIGHT",
  "FULL",
  "CROSS",
  "NATURAL",
  "RETURNING",
  "SET",
  "VALUES",
  "DEFAULT",
  "FOR",
  "USING",
  "SELECT",
  "FETCH",
  "TABLESAMPLE",
  "WHEN",
]);
const SUMMARY_MAX = 255;

/**
 * The summary, operation and collection of `text`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { queryShape } from "./sql_shape.ts";
 * assert.deepEqual(queryShape("SELECT * FROM users WHERE id = $1"), {
 *   summary: "SELECT users", operation: "SELECT", collection: "users",
 * });
 * assert.equal(queryShape("INSERT INTO shipping (id) SELECT id FROM orders").summary, "INSERT shipping SELECT orders");
 * assert.equal(queryShape("BEGIN; SELECT 1").operation, undefined); // two statements: no single operation
 * ```
 */
export function queryShape(text: string): QueryShape {
  const tokens = lex(text);
  const parts: string[] = [];
  const targets: string[] = [];
  let operation: string | undefined;
  let statements = 0;
  let depth = 0;
  let first = true; // at the start of a statement
  let listFrom = false; // inside a FROM list at depth `listDepth`: `, name` is another target
  let listDepth = 0;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (t.kind === "punct") {
      if (t.text === "(") depth++;
      else if (t.text === ")") depth = Math.max(0, depth - 1);
      else if (t.text === ";" && depth === 0) first = true;
      else if (t.text === "," && listFrom && depth === listDepth) {
        const name = targetAt(tokens, i + 1, false);
        if (name) push(name.text, true), i = name.next - 1;
      }
      continue;
    }
    if (t.kind !== "word") continue;
    const upper = t.text.toUpperCase();
    if (first) {
      first = false;
      statements++;
      if (!OPERATIONS.has(upper) && upper !== "WITH") {
        // Transaction control, DDL, utility commands: the command (with TABLE for table DDL) and its table.
        const next = tokens[i + 1];
        const table = next?.kind === "word" && next.text.toUpperCase() === "TABLE";
        const op = table ? `${t.text} ${next.text}` : t.text;
        push(op, false);
        if (statements === 1) operation = op;
        const at = table ? i + 2 : COMMAND_TARGET.has(upper) ? i + 1 : -1;
        const name = at < 0 ? undefined : targetAt(tokens, at, true);
        // A procedure is not a collection; `TRUNCATE a, b` lists more.
        if (name) push(name.text, upper !== "CALL"), i = name.next - 1, listFrom = true, listDepth = depth;
        else if (table) i++;
        continue;
      }
    }
    if (OPERATIONS.has(upper)) {
      push(t.text, false);
      if (statements === 1 && operation === undefined && depth === 0) operation = t.text;
    }
    if (upper === "FROM") listFrom = true, listDepth = depth;
    else if (CLAUSE_END.has(upper) && depth <= listDepth) listFrom = upper === "JOIN" ? listFrom : false;
    if (TARGET_BEFORE.has(upper)) {
      const name = targetAt(tokens, i + 1, upper === "INTO" || upper === "TABLE");
      if (name) push(name.text, true), i = name.next - 1;
    }
  }

  function push(part: string, target: boolean): void {
    parts.push(part);
    if (target) targets.push(part);
  }

  let summary = "";
  for (const part of parts) {
    const next = summary ? `${summary} ${part}` : part;
    if (next.length > SUMMARY_MAX) break; // never cut inside an operation or a name
    summary = next;
  }
  if (statements !== 1) return { summary };
  const distinct = new Set(targets);
  const collection = distinct.size === 1 ? targets[0] : undefined;
  return { summary, ...(operation ? { operation } : {}), ...(collection ? { collection } : {}) };
}

/**
 * The (possibly schema-qualified) name starting at `i`, skipping ONLY/LATERAL/IF NOT EXISTS. A name followed
 * by `(` is a function in FROM, unless `paren` (a column list after INTO, a procedure's arguments).
 */
function targetAt(tokens: Token[], i: number, paren: boolean): { text: string; next: number } | undefined {
  while (tokens[i]?.kind === "word" && TARGET_SKIP.has(tokens[i].text.toUpperCase())) i++;
  const t = tokens[i];
  if (!t || (t.kind !== "word" && t.kind !== "quoted")) return undefined;
  const upper = t.text.toUpperCase();
  if (t.kind === "word" && (OPERATIONS.has(upper) || CLAUSE_END.has(upper) || NOT_TARGET.has(upper))) {
    return undefined;
  }
  let text = t.text;
  let j = i + 1;
  while (tokens[j]?.text === "." && (tokens[j + 1]?.kind === "word" || tokens[j + 1]?.kind === "quoted")) {
    text += `.${tokens[j + 1].text}`;
    j += 2;
  }
  if (!paren && tokens[j]?.text === "(") return undefined;
  return { text, next: j };
}

/**
 * `text` with every literal (strings, numbers, booleans) replaced by `?`, for
 * `db.query.text` of statements sent without parameters. Placeholders (`$1`),
 * identifiers and comments stay.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sanitizeSql } from "./sql_shape.ts";
 * assert.equal(
 *   sanitizeSql("SELECT * FROM t WHERE a = 'x''y' AND b > 42 AND c = $1 AND d = $$raw$$"),
 *   "SELECT * FROM t WHERE a = ? AND b > ? AND c = $1 AND d = ?",
 * );
 * ```
 */
export function sanitizeSql(text: string): string {
  let out = "";
  let at = 0;
  for (const t of lex(text)) {
    if (t.kind !== "literal") continue;
    out += text.slice(at, t.start) + "?";
    at = t.end;
  }
  return out + text.slice(at);
}

const WORD_START = /[A-Za-z_\u0080-\uffff]/;
const WORD_PART = /[A-Za-z0-9_$\u0080-\uffff]/;
const DIGIT = /[0-9]/;

/** Splits `text` into tokens; comments and whitespace are skipped. */
function lex(text: string): Token[] {
  const tokens: Token[] = [];
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text[i];
    const start = i;
    if (c === " " || c === "\n" || c === "\t" || c === "\r") {
      i++;
    } else if (c === "-" && text[i + 1] === "-") {
      while (i < n && text[i] !== "\n") i++;
    } else if (c === "/" && text[i + 1] === "*") {
      let level = 0;
      while (i < n) {
        if (text[i] === "/" && text[i + 1] === "*") level++, i += 2;
        else if (text[i] === "*" && text[i + 1] === "/") {
          i += 2;
          if (--level === 0) break;
        } else i++;
      }
    } else if (c === "'") {
      i = quoted(text, i, "'", false);
      tokens.push({ kind: "literal", text: "?", start, end: i });
    } else if ((c === "E" || c === "e") && text[i + 1] === "'") {
      i = quoted(text, i + 1, "'", true);
      tokens.push({ kind: "literal", text: "?", start, end: i });
    } else if (/[BbXxNn]/.test(c) && text[i + 1] === "'") {
      i = quoted(text, i + 1, "'", false);
      tokens.push({ kind: "literal", text: "?", start, end: i });
    } else if ((c === "U" || c === "u") && text[i + 1] === "&" && text[i + 2] === "'") {
      i = quoted(text, i + 2, "'", false);
      tokens.push({ kind: "literal", text: "?", start, end: i });
    } else if (c === '"') {
      i = quoted(text, i, '"', false);
      tokens.push({ kind: "quoted", text: text.slice(start, i), start, end: i });
    } else if (c === "$") {
      const tag = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(text.slice(i, i + 64));
      if (tag) {
        const close = text.indexOf(tag[0], i + tag[0].length);
        i = close < 0 ? n : close + tag[0].length;
        tokens.push({ kind: "literal", text: "?", start, end: i });
      } else {
        i++;
        while (i < n && DIGIT.test(text[i])) i++;
        tokens.push({ kind: "param", text: text.slice(start, i), start, end: i });
      }
    } else if (DIGIT.test(c) || (c === "." && DIGIT.test(text[i + 1] ?? ""))) {
      if (c === "0" && /[xXoObB]/.test(text[i + 1] ?? "")) i += 2;
      while (i < n && /[0-9A-Fa-f_.]/.test(text[i])) {
        if ((text[i] === "e" || text[i] === "E") && /[+-]/.test(text[i + 1] ?? "")) i++;
        i++;
      }
      tokens.push({ kind: "literal", text: "?", start, end: i });
    } else if (WORD_START.test(c)) {
      i++;
      while (i < n && WORD_PART.test(text[i])) i++;
      const word = text.slice(start, i);
      const upper = word.toUpperCase();
      const literal = upper === "TRUE" || upper === "FALSE";
      tokens.push({ kind: literal ? "literal" : "word", text: literal ? "?" : word, start, end: i });
    } else {
      i++;
      tokens.push({ kind: "punct", text: c, start, end: i });
    }
  }
  return tokens;
}

/** The index after the quoted run starting at `i` (`quote` doubled inside escapes it; `backslash`: E'' strings). */
function quoted(text: string, i: number, quote: string, backslash: boolean): number {
  const n = text.length;
  i++;
  while (i < n) {
    const c = text[i];
    if (backslash && c === "\\") i += 2;
    else if (c === quote) {
      if (text[i + 1] === quote) i += 2;
      else return i + 1;
    } else i++;
  }
  return n;
}
