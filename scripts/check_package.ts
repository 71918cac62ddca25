/**
 * The package checks of `deno task check`, all offline:
 *
 * - `deno.dev.json` (the configuration of the tests, the bench and the npm
 *   build) repeats `name`, `version`, `exports` and `imports` of `deno.json`
 *   exactly (`--fix` copies them over), so what the tests resolve is what
 *   users get;
 * - `deno.lock` pins only packages `deno.json` imports: a test or bench tool
 *   in it would be fetched by the demo's first run;
 * - the JSR score items that can be checked without the registry: every
 *   export documented (`deno doc --lint`), a module doc on every entry, no
 *   slow types and no warning from `deno publish --dry-run`, which lists only
 *   files under `publish.include`, every entry among them.
 *
 * `deno run -A scripts/check_package.ts [--fix]`
 *
 * @module
 */

import { parseArgs } from "node:util";
import { parseNpmSpecifier } from "./package_info.ts";

const ROOT = new URL("../", import.meta.url);
const MIRRORED = ["name", "version", "exports", "imports"] as const;

type Json = Record<string, unknown>;
const readJson = async (file: string): Promise<Json> => JSON.parse(await Deno.readTextFile(new URL(file, ROOT)));

async function deno(args: string[]): Promise<{ ok: boolean; out: string; stdout: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    env: { NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" },
    stdin: "null",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  return { ok: out.success, out: stdout + new TextDecoder().decode(out.stderr), stdout };
}

/** Differences between `deno.json` and the mirrored part of `deno.dev.json`; rewrites it when `fix`. */
async function devConfig(fix: boolean): Promise<string[]> {
  const root = await readJson("deno.json");
  const dev = await readJson("deno.dev.json");
  const problems: string[] = [];
  for (const key of MIRRORED) {
    const want = key === "imports"
      ? { ...root.imports as Json, ...devOnly(root.imports as Json, dev.imports as Json) }
      : root[key];
    if (JSON.stringify(dev[key]) !== JSON.stringify(want)) {
      problems.push(`deno.dev.json "${key}" differs from deno.json's`);
      dev[key] = want;
    }
  }
  if (fix && problems.length) {
    const ordered = Object.fromEntries([...MIRRORED.map((k) => [k, dev[k]]), ...Object.entries(dev)]);
    await Deno.writeTextFile(new URL("deno.dev.json", ROOT), JSON.stringify(ordered, null, 2) + "\n");
    return [];
  }
  return problems.map((p) => `${p}: run \`deno run -A scripts/check_package.ts --fix\``);
}

/** The entries of the development configuration that are not the package's (test and bench tools). */
function devOnly(rootImports: Json, devImports: Json): Json {
  return Object.fromEntries(Object.entries(devImports).filter(([k]) => !(k in rootImports)));
}

async function leanLock(): Promise<string[]> {
  const root = await readJson("deno.json");
  const pinned = new Set(Object.values(root.imports as Json).map((s) => parseNpmSpecifier(String(s))?.name));
  const lock = await readJson("deno.lock");
  const direct = Object.keys(lock.specifiers as Json ?? {}).map((s) => parseNpmSpecifier(s)?.name);
  return direct.filter((name) => !pinned.has(name)).map((name) =>
    `deno.lock pins ${name}, which deno.json does not import (a test or bench tool belongs in deno.dev.json)`
  );
}

/**
 * The names an entry imports from npm packages: an integration's API extends its library's types, which that
 * library documents (re-exporting them would make `deno doc --lint` lint the library's own declarations).
 */
async function packageTypes(exports: string[]): Promise<Set<string>> {
  const names = new Set<string>();
  for (const entry of exports) {
    const text = await Deno.readTextFile(new URL(entry, ROOT));
    for (const m of text.matchAll(/^import\s+(?:type\s+)?\{([^}]*)\}\s+from\s+"([^".][^"]*)"/gm)) {
      for (const part of m[1].split(",")) {
        const name = part.replace(/^\s*type\s+/, "").split(/\s+as\s+/).pop()!.trim();
        if (name) names.add(name);
      }
    }
  }
  return names;
}

/** `deno doc --lint`'s errors, less "references private type" for a type an entry imports from an npm package. */
function lintErrors(out: string, external: Set<string>): string[] {
  const blocks = out.split(/\n(?=error)/).filter((b) => b.startsWith("error["));
  return blocks.filter((b) => {
    const m = /^error\[private-type-ref\]: public type '[^']+' references private type '([^']+)'/.exec(b);
    return m === null || !external.has(m[1]);
  });
}

async function docs(exports: string[]): Promise<string[]> {
  const problems: string[] = [];
  const lint = await deno(["doc", "--lint", ...exports]);
  const errors = lint.ok ? [] : lintErrors(lint.out, await packageTypes(exports));
  if (errors.length || (!lint.ok && !/^error\[/m.test(lint.out))) {
    problems.push(`deno doc --lint:\n${errors.length ? errors.join("\n").trim() : lint.out.trim()}`);
  }
  for (const entry of exports) {
    // JSON from stdout alone: stderr may carry warnings about a package's unresolved optional types.
    const { ok, out, stdout } = await deno(["doc", "--json", entry]);
    if (!ok) {
      problems.push(`deno doc --json ${entry}:\n${out}`);
      continue;
    }
    const nodes = JSON.parse(stdout).nodes as Record<string, { module_doc?: { doc?: string } }>;
    const own = nodes[new URL(entry, ROOT).href];
    // A first line starting with "@" reads as a JSDoc tag: the module doc then has no text at all.
    if (!own?.module_doc?.doc?.trim()) problems.push(`${entry}: no module documentation text (JSR scores it)`);
  }
  return problems;
}

async function publish(include: string[], exports: string[]): Promise<string[]> {
  const { ok, out } = await deno(["publish", "--dry-run", "--allow-dirty"]);
  if (!ok) return [`deno publish --dry-run failed:\n${out}`];
  const problems = /warning/i.test(out) ? [`deno publish --dry-run warns:\n${out}`] : [];
  const files = [...out.matchAll(/^\s+file:\/\/(\S+)/gm)].map((m) => m[1].slice(ROOT.pathname.length));
  const allowed = (f: string) => f === "deno.json" || include.some((i) => i.endsWith("/") ? f.startsWith(i) : f === i);
  for (const f of files.filter((f) => !allowed(f))) problems.push(`published but not in publish.include: ${f}`);
  for (const e of exports.filter((e) => !files.includes(e))) problems.push(`export not published: ${e}`);
  if (!files.length) problems.push("deno publish --dry-run listed no file");
  return problems;
}

if (import.meta.main) {
  const { values } = parseArgs({ args: Deno.args, options: { fix: { type: "boolean", default: false } } });
  const root = await readJson("deno.json");
  const exports = Object.values(root.exports as Record<string, string>).map((f) => f.replace(/^\.\//, ""));
  const include = ((root.publish as Json)?.include as string[]) ?? [];
  const problems = [
    ...await devConfig(values.fix),
    ...await leanLock(),
    ...await docs(exports),
    ...await publish(include, exports),
  ];
  if (problems.length) {
    console.error(problems.map((p) => `✗ ${p}`).join("\n"));
    Deno.exit(1);
  }
  console.log(
    `package: ${exports.length} entries documented, publish list clean, deno.dev.json in step, deno.lock lean`,
  );
}
