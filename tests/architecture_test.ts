// The rules of docs/architecture.md, checked on the sources: the core's import graph has no cycle (type-only
// imports included), the core touches no host API, driver package or adapter, and holds no module-level mutable
// state; the entry points wire the runtime explicitly.
import assert from "node:assert/strict";

const ROOT = new URL("..", import.meta.url).pathname;

async function files(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of Deno.readDir(ROOT + dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) out.push(...await files(path));
    else if (entry.name.endsWith(".ts")) out.push(path);
  }
  return out.sort();
}

/** Every `import`/`export ... from` specifier of a module, type-only ones included, dynamic ones too. */
function specifiers(source: string): string[] {
  const out: string[] = [];
  for (const m of source.matchAll(/(?:^|\n)\s*(?:import|export)\b[^;]*?\bfrom\s*"([^"]+)"/g)) out.push(m[1]);
  for (const m of source.matchAll(/(?:^|\n)\s*import\s*"([^"]+)"/g)) out.push(m[1]);
  for (const m of source.matchAll(/\bimport\(\s*"([^"]+)"\s*\)/g)) out.push(m[1]);
  return out;
}

/** Source without comments, so examples in JSDoc do not count as imports or state. */
function code(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'`])\/\/.*$/gm, "$1");
}

const core = await files("src");
const sources = new Map(
  await Promise.all(core.map(async (f) => [f, code(await Deno.readTextFile(ROOT + f))] as const)),
);

Deno.test("architecture: the import graph of src/ has no cycle, type-only imports included", () => {
  const edges = new Map<string, string[]>();
  for (const [file, source] of sources) {
    const dir = file.slice(0, file.lastIndexOf("/"));
    const local = specifiers(source).filter((s) => s.startsWith("."));
    edges.set(file, local.map((s) => new URL(s, `file:///${dir}/`).pathname.slice(1)).filter((f) => sources.has(f)));
  }
  const state = new Map<string, "open" | "done">();
  const cycles: string[] = [];
  const visit = (file: string, path: string[]) => {
    if (state.get(file) === "done") return;
    if (state.get(file) === "open") {
      cycles.push([...path.slice(path.indexOf(file)), file].join(" → "));
      return;
    }
    state.set(file, "open");
    for (const next of edges.get(file) ?? []) visit(next, [...path, file]);
    state.set(file, "done");
  };
  for (const file of sources.keys()) visit(file, []);
  assert.deepEqual(cycles, []);
});

Deno.test("architecture: src/ imports no host API, driver package or adapter", () => {
  const banned =
    /^(node:(fs|net|tls|dns|child_process)|postgres|pg|@neondatabase\/|@electric-sql\/|\.\.\/.*adapters\/)/;
  const found: string[] = [];
  for (const [file, source] of sources) {
    for (const s of specifiers(source)) if (banned.test(s)) found.push(`${file}: ${s}`);
    if (/(?<!["'\w.])Deno\.[a-z]/.test(source)) found.push(`${file}: Deno.*`);
  }
  assert.deepEqual(found, []);
});

Deno.test("architecture: no module-level mutable state in src/ (constants and pure memo caches only)", () => {
  // A memo whose contents cannot be observed (the text of a template literal, a schema built on first use) is not
  // state; any other module-level binding is never reassigned, and a collection made at module level is never
  // changed after it is built.
  const MEMOS = new Set(["src/sql.ts: cache", "src/config/schema.ts: built"]);
  const found: string[] = [];
  for (const [file, source] of sources) {
    for (const m of source.matchAll(/^(?:export\s+)?let\s+(\w+)/gm)) found.push(`${file}: let ${m[1]}`);
    const collections = source.matchAll(
      /^(?:export\s+)?const\s+(\w+)\s*(?::[^=]+)?=\s*(?:new\s+(?:Map|Set|WeakMap|WeakSet|Array)\b|\[|\{)/gm,
    );
    for (const [, name] of collections) {
      if (MEMOS.has(`${file}: ${name}`)) continue;
      const mutated = new RegExp(
        `\\b${name}\\.(?:add|set|delete|clear|push|pop|shift|unshift|splice)\\(|` +
          `\\b${name}(?:\\[[^\\]]*\\]|\\.\\w+)\\s*(?:=(?!=)|\\?\\?=|\\|\\|=)|Object\\.assign\\(\\s*${name}\\b`,
      );
      if (mutated.test(source)) found.push(`${file}: ${name} is changed after module load`);
    }
  }
  assert.deepEqual(found, []);
});

Deno.test("architecture: nothing is wired by import side effect; the entry points pass their runtime", async () => {
  const registries = ["src/registry.ts", "src/extensions.ts", "src/platform.ts"].filter((f) => sources.has(f));
  assert.deepEqual(registries, []);
  for (const entry of ["mod.ts", "edge.ts"]) {
    const source = code(await Deno.readTextFile(ROOT + entry));
    assert.match(source, /runtime: options\.runtime \?\? (NODE|EDGE)_RUNTIME/, `${entry} binds its runtime`);
    assert.doesNotMatch(source, /^import\s+"/m, `${entry} imports nothing for its side effects`);
  }
});
