/**
 * `deno task build:npm`: the npm package in `dist/npm/` (or `--out=DIR`).
 *
 * Every TypeScript module reachable from an entry of `deno.json` `exports` is
 * transpiled on its own to an ES module (`.js`, relative imports rewritten
 * from `.ts`) plus its declarations (`.d.ts`), in the same layout as the
 * sources. Nothing is bundled: a lazy `import()` stays a separate module that
 * loads on first use, so an optional driver is never required by an entry
 * that does not use it. `package.json` gets an `exports` map mirroring
 * `deno.json`'s, the npm packages the modules import as `dependencies` (exact
 * versions from `deno.json` `imports`), except the drivers and integrations
 * in {@linkcode OPTIONAL_PEERS}, which are optional peer dependencies that only
 * the entries using them load.
 *
 * Declarations come from one TypeScript program over the same modules,
 * emitted without type checking (`deno check` does that).
 *
 * @module
 */

import ts from "typescript";
import { parseArgs } from "node:util";
import { type PackageInfo, packageOf, readPackageInfo } from "./package_info.ts";

/**
 * npm packages that are optional peer dependencies: the entry or the driver
 * that needs one loads it, and a user of another entry never installs it.
 */
export const OPTIONAL_PEERS: ReadonlySet<string> = new Set([
  "@neondatabase/serverless",
  "@electric-sql/pglite",
  "kysely",
  "drizzle-orm",
  "@opentelemetry/api",
]);

/** Files copied beside the modules. */
const EXTRA_FILES = ["README.md", "LICENSE"];

const JS_OPTIONS: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022, // Node 20 has no `using`: transpiled down
  module: ts.ModuleKind.ESNext,
  rewriteRelativeImportExtensions: true,
  verbatimModuleSyntax: true,
  newLine: ts.NewLineKind.LineFeed,
};
const DECLARATION_OPTIONS: ts.CompilerOptions = {
  ...JS_OPTIONS,
  declaration: true,
  emitDeclarationOnly: true,
  noCheck: true,
  allowImportingTsExtensions: true,
  moduleResolution: ts.ModuleResolutionKind.Bundler,
  lib: ["lib.es2023.d.ts", "lib.dom.d.ts"],
  types: [],
  skipLibCheck: true,
  strict: true,
};

/** The modules an entry set reaches, and the npm packages and Node built-ins they import. */
export interface ModuleGraph {
  /** Repository-relative paths (`src/pool.ts`), sorted. */
  files: string[];
  /** npm package name → the modules importing it. */
  packages: Map<string, string[]>;
}

/**
 * Follows every static, dynamic and type import from `entries` (repository-relative `.ts` paths).
 *
 * @example
 * ```ts ignore
 * const graph = await moduleGraph(new URL("../", import.meta.url), ["mod.ts"]);
 * ```
 */
export async function moduleGraph(root: URL, entries: readonly string[]): Promise<ModuleGraph> {
  const seen = new Set<string>();
  const packages = new Map<string, string[]>();
  const queue = [...entries.map((e) => e.replace(/^\.\//, ""))];
  while (queue.length) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const text = await Deno.readTextFile(new URL(file, root));
    for (const { fileName: spec } of ts.preProcessFile(text, true, true).importedFiles) {
      if (spec.startsWith(".")) {
        const target = new URL(spec, new URL(file, root)).pathname.slice(root.pathname.length);
        if (!target.endsWith(".ts")) throw new Error(`${file}: import "${spec}" is not a .ts module`);
        queue.push(target);
      } else if (!spec.startsWith("node:")) {
        const name = packageOf(spec);
        packages.set(name, [...packages.get(name) ?? [], file]);
      }
    }
  }
  return { files: [...seen].sort(), packages };
}

/** Transpiles one module to JavaScript on its own: a lazy `import()` stays lazy, nothing is inlined. */
function transpile(file: string, text: string): string {
  const out = ts.transpileModule(text, { fileName: file, compilerOptions: JS_OPTIONS, reportDiagnostics: true });
  failOn(out.diagnostics);
  return out.outputText;
}

/**
 * Declarations of every module, from one program that infers what the sources leave implicit (its types are
 * checked by `deno check`, not here). Relative specifiers end in `.js`, as the modules beside them.
 */
function declarations(root: URL, files: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  const program = ts.createProgram(files.map((f) => new URL(f, root).pathname), DECLARATION_OPTIONS);
  const emitted = program.emit(
    undefined,
    (path, text) => {
      // `rewriteRelativeImportExtensions` leaves declarations alone: their specifiers still end in `.ts`.
      const js = text.replace(
        /(\bfrom\s+|\bimport\s*\(\s*|\bimport\s+)(["'])(\.{1,2}\/[^"'\n]+?)\.ts\2/g,
        "$1$2$3.js$2",
      );
      out.set(path.slice(root.pathname.length).replace(/\.d\.ts$/, ".ts"), js);
    },
    undefined,
    true,
  );
  failOn(emitted.diagnostics);
  return out;
}

function failOn(diagnostics: readonly ts.Diagnostic[] | undefined): void {
  if (!diagnostics?.length) return;
  throw new Error(
    diagnostics.map((d) => {
      const where = d.file ? `${d.file.fileName}:${d.file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1}: ` : "";
      return where + ts.flattenDiagnosticMessageText(d.messageText, "\n");
    }).join("\n"),
  );
}

/**
 * The `package.json` of the npm build.
 *
 * @example
 * ```ts ignore
 * const manifest = packageJson(await readPackageInfo(), graph);
 * ```
 */
export function packageJson(info: PackageInfo, graph: ModuleGraph, description: string): Record<string, unknown> {
  const version = (name: string) => {
    const pin = Object.values(info.imports).find((p) => p.name === name);
    if (!pin) {
      throw new Error(`"${name}" is imported (${graph.packages.get(name)}) but deno.json imports do not pin it`);
    }
    return pin.version;
  };
  const dependencies: Record<string, string> = {};
  const peerDependencies: Record<string, string> = {};
  const peerDependenciesMeta: Record<string, { optional: true }> = {};
  for (const name of [...graph.packages.keys()].sort()) {
    if (OPTIONAL_PEERS.has(name)) {
      peerDependencies[name] = `^${version(name)}`; // the user's copy: any compatible release
      peerDependenciesMeta[name] = { optional: true };
    } else {
      dependencies[name] = version(name); // what the tests ran against
    }
  }
  const exports: Record<string, unknown> = {};
  for (const [subpath, source] of Object.entries(info.exports)) {
    const base = source.replace(/\.ts$/, "");
    exports[subpath] = { types: `${base}.d.ts`, default: `${base}.js` };
  }
  exports["./package.json"] = "./package.json";
  return {
    name: info.name,
    version: info.version,
    description,
    license: info.license,
    type: "module",
    engines: { node: ">=20" },
    main: exports["."] ? `./${info.exports["."].replace(/^\.\//, "").replace(/\.ts$/, ".js")}` : undefined,
    types: exports["."] ? `./${info.exports["."].replace(/^\.\//, "").replace(/\.ts$/, ".d.ts")}` : undefined,
    exports,
    dependencies,
    peerDependencies,
    peerDependenciesMeta,
  };
}

/** The README's first sentence, as the package description. */
async function description(root: URL): Promise<string> {
  const readme = await Deno.readTextFile(new URL("README.md", root));
  const paragraph = readme.split(/\n\s*\n/).find((p) => !p.startsWith("#"))?.replace(/\s+/g, " ") ?? "";
  return paragraph.split(/(?<=[a-z)]):\s/)[0].replace(/\.$/, "").trim();
}

/**
 * Builds the npm package into `outDir`, emptied first. Returns the files written (relative to `outDir`).
 *
 * @example
 * ```ts ignore
 * await buildNpm(new URL("../dist/npm/", import.meta.url));
 * ```
 */
export async function buildNpm(outDir: URL): Promise<string[]> {
  const info = await readPackageInfo();
  const graph = await moduleGraph(info.root, Object.values(info.exports));
  await Deno.remove(outDir, { recursive: true }).catch((e) => {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  });
  const written: string[] = [];
  const write = async (path: string, text: string) => {
    const url = new URL(path, outDir);
    await Deno.mkdir(new URL(".", url), { recursive: true });
    await Deno.writeTextFile(url, text);
    written.push(path);
  };
  const dts = declarations(info.root, graph.files);
  for (const file of graph.files) {
    await write(file.replace(/\.ts$/, ".js"), transpile(file, await Deno.readTextFile(new URL(file, info.root))));
    const d = dts.get(file);
    if (d === undefined) throw new Error(`no declarations emitted for ${file}`);
    await write(file.replace(/\.ts$/, ".d.ts"), d);
  }
  for (const file of EXTRA_FILES) await write(file, await Deno.readTextFile(new URL(file, info.root)));
  const manifest = packageJson(info, graph, await description(info.root));
  await write("package.json", JSON.stringify(manifest, null, 2) + "\n");
  return written.sort();
}

if (import.meta.main) {
  const { values } = parseArgs({ args: Deno.args, options: { out: { type: "string" } } });
  const root = new URL("../", import.meta.url);
  const out = values.out ? new URL(`file://${await Deno.realPath(".")}/${values.out}/`) : new URL("dist/npm/", root);
  const t0 = performance.now();
  const files = await buildNpm(out);
  console.log(`${out.pathname}: ${files.length} files in ${Math.round(performance.now() - t0)} ms`);
}
