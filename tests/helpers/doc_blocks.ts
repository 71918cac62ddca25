/**
 * Fenced code blocks of Markdown files, for `tests/docs_test.ts`: where each
 * starts, its language and the words after it (`ts check`).
 *
 * @module
 */

/**
 * One fenced block.
 *
 * @example
 * ```ts
 * import type { CodeBlock } from "./doc_blocks.ts";
 * const block: CodeBlock = { file: "README.md", line: 3, lang: "ts", words: ["check"], code: "const a = 1;\n" };
 * ```
 */
export interface CodeBlock {
  /** The Markdown file, relative to the repository root. */
  readonly file: string;
  /** 1-based line of the opening fence. */
  readonly line: number;
  /** The info string's first word, lower-cased (`ts`, `yaml`, `sh`, or `""`). */
  readonly lang: string;
  /** The info string's other words (`check`, `ignore`). */
  readonly words: readonly string[];
  /** The content, its fence's indentation removed. */
  readonly code: string;
}

const FENCE = /^( {0,12})(`{3,}|~{3,})(.*)$/;

/**
 * Every fenced block of `text`, including those indented in list items.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { codeBlocks } from "./doc_blocks.ts";
 * const fence = "`".repeat(3);
 * const [block] = codeBlocks("x.md", `# t\n\n  ${fence}ts check\n  const a = 1;\n  ${fence}\n`);
 * assert(block.line === 3 && block.lang === "ts" && block.words[0] === "check" && block.code === "const a = 1;\n");
 * ```
 */
export function codeBlocks(file: string, text: string): CodeBlock[] {
  const lines = text.split("\n");
  const blocks: CodeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i]);
    if (!open || (open[2][0] === "`" && open[3].includes("`"))) continue;
    const [, indent, fence, info] = open;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const close = FENCE.exec(lines[j]);
      if (close && close[2][0] === fence[0] && close[2].length >= fence.length && close[3].trim() === "") break;
      body.push(lines[j].startsWith(indent) ? lines[j].slice(indent.length) : lines[j].trimStart());
    }
    const [lang = "", ...words] = info.trim().split(/\s+/).filter(Boolean);
    blocks.push({ file, line: i + 1, lang: lang.toLowerCase(), words, code: body.map((l) => `${l}\n`).join("") });
    i = j;
  }
  return blocks;
}
