/**
 * `deno task docs`: writes the generated parts of the guides from the code
 * they describe: in `docs/configuration.md` every key with what it accepts,
 * its default, its `PG*` variable and its meaning (from the key table
 * `src/config/keys.ts`, the defaults, the schema and `src/config/env.ts`);
 * in `docs/api.md` every error code (`ERROR_CODES`). The prose around them is
 * edited by hand; each generated part sits between two HTML comments.
 *
 * `deno task docs --check` (run by `deno task check`) changes nothing and
 * fails when a file is not what the generator would write.
 *
 * @module
 */

import { PG_VARIABLES } from "../src/config/env.ts";
import { defaultText, GROUPS, type KeyGroup, KEYS } from "../src/config/keys.ts";
import { LIBPQ_PARAMETERS, type LibpqSupport } from "../src/config/libpq.ts";
import { checkValue, type FieldName } from "../src/config/schema.ts";
import { ERROR_CODES } from "../src/error_codes.ts";

/**
 * What the schema accepts for `key`, in a few words, taken from the message
 * it gives for a value no key accepts.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { accepts } from "./gen_docs.ts";
 * assert(accepts("pool_max") === "integer ≥ 1" && accepts("keepalives") === "boolean");
 * ```
 */
export function accepts(key: FieldName): string {
  const result = checkValue(key, Symbol("probe"));
  const message = result.issues?.[0]?.message;
  if (!message) throw new Error(`the schema of ${key} accepts a symbol: describe it in gen_docs.ts`);
  const what = message.replace(/^expected /, "").replace(/, found [^,]*$/, "");
  const oneOf = /^one of (.*)$/.exec(what);
  if (oneOf) return oneOf[1].split(", ").map((v) => `\`${v}\``).join(", ");
  const atLeast = /^an integer of at least (\d+)$/.exec(what);
  if (atLeast) return `integer ≥ ${atLeast[1]}`;
  if (what.startsWith("a duration such as") && what.endsWith("milliseconds")) return "duration (a number: ms)";
  if (what.startsWith("a duration such as")) return "duration";
  if (what === "true or false") return "boolean";
  if (what === "a non-empty string") return "string";
  if (what.startsWith("a list of password")) return "a list of methods";
  if (what === "false (off)") return "`false`";
  return what;
}

/** PG* variables by the key each fills. */
function variablesByKey(): Map<string, string[]> {
  const byKey = new Map<string, string[]>();
  for (const [name, key] of Object.entries(PG_VARIABLES)) {
    if (LIBPQ_PARAMETERS[key]?.support === "no") continue; // refused: listed with libpq's parameters
    if (!Object.hasOwn(KEYS, key)) {
      throw new Error(`${name} fills "${key}", which src/config/keys.ts does not document`);
    }
    byKey.set(key, [...byKey.get(key) ?? [], name]);
  }
  return byKey;
}

const code = (s: string) => `\`${s}\``;

function keysSection(): string {
  const vars = variablesByKey();
  const out: string[] = [];
  for (const [group, { title, guide }] of Object.entries(GROUPS)) {
    const keys = (Object.keys(KEYS) as FieldName[]).filter((k) => KEYS[k].group === (group as KeyGroup));
    if (!keys.length) continue;
    out.push(`### ${title}`, "");
    if (guide) out.push(`How these work: [${guide.replace(/\.md$/, "")}](${guide}).`, "");
    out.push("| key | accepts | default | env | meaning |", "| --- | --- | --- | --- | --- |");
    for (const key of keys) {
      const def = defaultText(key);
      const shown = def === undefined || def === "none" ? "none" : KEYS[key].defaultText !== undefined // words, not a value
        ? def
        : def.replace(/^(.*?)( \(.*\))?$/, (_, value, note = "") => `${code(value)}${note}`);
      const env = (vars.get(key) ?? []).map(code).join(", ");
      out.push(`| ${code(key)} | ${accepts(key)} | ${shown} | ${env} | ${KEYS[key].description} |`);
    }
    out.push("");
  }
  return out.join("\n");
}

function envSection(): string {
  const rows = Object.entries(PG_VARIABLES).map(([name, key]) =>
    `| ${code(name)} | ${code(key)}${LIBPQ_PARAMETERS[key]?.support === "no" ? " (refused)" : ""} |`
  );
  return ["| variable | key |", "| --- | --- |", ...rows, ""].join("\n");
}

const SUPPORT: Readonly<Record<LibpqSupport, string>> = {
  yes: "honoured",
  values: "some values",
  accepted: "accepted, no effect",
  no: "refused",
};

function libpqSection(): string {
  const rows = Object.entries(LIBPQ_PARAMETERS).map(([key, p]) =>
    `| ${code(key)} | ${p.env ? code(p.env) : ""} | ${SUPPORT[p.support]} | ${p.note ?? ""} |`
  );
  return ["| parameter | variable | here | why, or which values |", "| --- | --- | --- | --- |", ...rows, ""].join(
    "\n",
  );
}

function errorCodesSection(): string {
  const rows = Object.entries(ERROR_CODES).map(([name, meaning]) => `| ${code(name)} | ${meaning} |`);
  return ["| code | meaning |", "| --- | --- |", ...rows, ""].join("\n");
}

/**
 * Every generated part: the file it lives in, the sources it is written
 * from (named in its opening marker), and how it is rendered.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SECTIONS } from "./gen_docs.ts";
 * assert(SECTIONS.keys.file === "docs/configuration.md");
 * ```
 */
export const SECTIONS: Readonly<Record<string, { file: string; sources: string; render: () => string }>> = {
  keys: {
    file: "docs/configuration.md",
    sources: "src/config/keys.ts, src/config/defaults.ts, src/config/schema.ts, src/config/env.ts",
    render: keysSection,
  },
  env: { file: "docs/configuration.md", sources: "src/config/env.ts", render: envSection },
  libpq: { file: "docs/configuration.md", sources: "src/config/libpq.ts", render: libpqSection },
  "error-codes": { file: "docs/api.md", sources: "src/error_codes.ts", render: errorCodesSection },
};

/**
 * The files holding generated parts, relative to the repository root.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { GENERATED_FILES } from "./gen_docs.ts";
 * assert(GENERATED_FILES.includes("docs/api.md"));
 * ```
 */
export const GENERATED_FILES: readonly string[] = [...new Set(Object.values(SECTIONS).map((s) => s.file))];

/**
 * `text` (the current content of `file`) with every generated part of that
 * file rewritten and the whole formatted as `deno fmt` would.
 *
 * @throws {Error} when a generated part's markers are missing.
 *
 * @example
 * ```ts ignore
 * import { generate } from "./gen_docs.ts";
 * const text = await Deno.readTextFile("docs/configuration.md");
 * console.log(text === await generate("docs/configuration.md", text) ? "up to date" : "stale");
 * ```
 */
export async function generate(file: string, text: string): Promise<string> {
  let out = text;
  for (const [name, { sources, render }] of Object.entries(SECTIONS).filter(([, s]) => s.file === file)) {
    const begin = `<!-- generated: ${name} (deno task docs, from ${sources}; do not edit) -->`;
    const end = `<!-- end generated: ${name} -->`;
    const pattern = new RegExp(`<!-- generated: ${name} [^\\n]*-->\\n[\\s\\S]*?<!-- end generated: ${name} -->`);
    if (!pattern.test(out)) throw new Error(`${file} has no "<!-- generated: ${name} ... -->" section`);
    out = out.replace(pattern, () => `${begin}\n\n${render()}\n${end}`);
  }
  return await format(out);
}

/** Markdown formatted with the repository's `deno fmt` settings. */
async function format(markdown: string): Promise<string> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--ext=md", "-"],
    cwd: new URL("..", import.meta.url).pathname, // the repository's fmt settings
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(markdown));
  await writer.close();
  const { code, stdout, stderr } = await child.output();
  if (code !== 0) throw new Error(`deno fmt failed: ${new TextDecoder().decode(stderr)}`);
  return new TextDecoder().decode(stdout);
}

if (import.meta.main) {
  const stale: string[] = [];
  for (const file of GENERATED_FILES) {
    const url = new URL(`../${file}`, import.meta.url);
    const current = await Deno.readTextFile(url);
    const next = await generate(file, current);
    if (next === current) continue;
    stale.push(file);
    if (!Deno.args.includes("--check")) await Deno.writeTextFile(url, next);
  }
  if (Deno.args.includes("--check") && stale.length) {
    console.error(`stale: ${stale.join(", ")}; run \`deno task docs\` and commit the result`);
    Deno.exit(1);
  }
  if (!Deno.args.includes("--check")) console.log(stale.length ? `wrote ${stale.join(", ")}` : "up to date");
}
