// The examples in README.md and docs/*.md, as a reader would copy them: every TypeScript block is type-checked, the
// ones not marked `check` run against a database of their own, every YAML configuration loads, every relative link
// leads to a file and heading that exist. The marks are listed in docs/development.md; the generated part of
// docs/configuration.md must be current.
import assert from "node:assert/strict";
import { loadConfig } from "../mod.ts";
import { serveWsProxy } from "../adapters/wsproxy.ts";
import { generate, GENERATED_FILES } from "../scripts/gen_docs.ts";
import { type CodeBlock, codeBlocks } from "./helpers/doc_blocks.ts";
import { admin, TEST_URL } from "./helpers/db.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const TS = new Set(["ts", "typescript", "js", "javascript"]);
const WORDS = new Set(["check", "ignore"]);
const RUN_TIMEOUT_MS = 60_000;

// What Workers' own type package declares and Deno does not; enough for the examples' handler signatures.
const AMBIENT = `interface ExecutionContext {
  waitUntil(promise: Promise<unknown>): void;
  passThroughOnException(): void;
}
interface Hyperdrive {
  readonly connectionString: string;
}
`;

async function markdownFiles(): Promise<string[]> {
  const files = ["README.md"];
  for await (const entry of Deno.readDir(`${ROOT}docs`)) {
    if (entry.isFile && entry.name.endsWith(".md")) files.push(`docs/${entry.name}`);
  }
  return files.sort();
}

async function allBlocks(): Promise<CodeBlock[]> {
  const out: CodeBlock[] = [];
  for (const file of await markdownFiles()) out.push(...codeBlocks(file, await Deno.readTextFile(ROOT + file)));
  return out;
}

const where = (b: CodeBlock) => `${b.file}:${b.line}`;
const fileName = (b: CodeBlock) => `${b.file.replaceAll("/", "_")}_L${b.line}.ts`;
const imports = (b: CodeBlock, entry: string) => new RegExp(`from "(jsr:)?@dewey/db${entry}"`).test(b.code);

/** Deno's type errors with their temp file positions rewritten to the Markdown line they come from. */
function mapPositions(output: string, byName: Map<string, CodeBlock>): string {
  return output.replace(/file:\/\/\S*\/([^/\s]+_L\d+\.ts):(\d+):(\d+)/g, (all, name: string, line: string, col) => {
    const b = byName.get(name);
    return b ? `${b.file}:${b.line + Number(line)}:${col}` : all;
  });
}

Deno.test("docs: every code block is marked with a known word", async () => {
  const bad = (await allBlocks()).filter((b) => TS.has(b.lang) && b.words.some((w) => !WORDS.has(w)));
  assert.deepEqual(bad.map((b) => `${where(b)} ${b.words.join(" ")}`), []);
});

Deno.test("docs: every TypeScript example type-checks, and the ones not marked `check` run", async (t) => {
  const blocks = (await allBlocks()).filter((b) => TS.has(b.lang) && !b.words.includes("ignore"));
  assert(blocks.length > 20, `found only ${blocks.length} TypeScript examples`);
  await Deno.mkdir(`${ROOT}tmp`, { recursive: true });
  const dir = await Deno.makeTempDir({ dir: `${ROOT}tmp`, prefix: "docs_" }); // under the root: deno.json applies
  const byName = new Map<string, CodeBlock>();
  try {
    await Deno.writeTextFile(`${dir}/ambient.d.ts`, AMBIENT);
    for (const b of blocks) {
      byName.set(fileName(b), b);
      await Deno.writeTextFile(`${dir}/${fileName(b)}`, b.code);
    }

    await t.step("type-check", async () => {
      const files = ["ambient.d.ts", ...byName.keys()].map((f) => `${dir}/${f}`);
      const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
        args: ["check", "--quiet", ...files],
        cwd: ROOT,
        env: { NO_COLOR: "1" },
      }).output();
      const output = mapPositions(new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr), byName);
      assert.equal(code, 0, output);
    });

    const runnable = blocks.filter((b) => !b.words.includes("check"));
    const database = `dewey_docs_${Deno.pid}`;
    const sql = admin();
    await sql.unsafe(`CREATE DATABASE ${database}`);
    const url = new URL(TEST_URL);
    url.pathname = `/${database}`;
    await using proxy = serveWsProxy({ target: { host: url.hostname, port: Number(url.port || 5432) }, port: 0 });
    const neonUrl = `${url}${url.search ? "&" : "?"}driver=neon&ws_proxy=${proxy.wsProxy}`;
    const baseEnv = Object.fromEntries(
      Object.entries(Deno.env.toObject()).filter(([k]) => !/^(DATABASE_URL|DEWEY_CONFIG|DB_|PG)/.test(k)),
    );
    try {
      for (const b of runnable) {
        await t.step(`run ${where(b)}`, async () => {
          const edge = imports(b, "/edge");
          const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
            args: ["run", "-A", "--no-check", `${ROOT}tests/helpers/doc_block_runner.ts`, `${dir}/${fileName(b)}`],
            cwd: ROOT,
            env: { ...baseEnv, NO_COLOR: "1", DATABASE_URL: edge ? neonUrl : `${url}` },
            clearEnv: true,
            stdin: "null",
            signal: AbortSignal.timeout(RUN_TIMEOUT_MS),
          }).output();
          const out = new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr);
          assert.equal(code, 0, `${where(b)} failed:\n${mapPositions(out, byName)}`);
        });
      }
    } finally {
      await sql.unsafe(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      await sql.end();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("docs: every YAML configuration shown loads", async () => {
  const blocks = (await allBlocks()).filter((b) => b.lang === "yaml" && /^database:/m.test(b.code));
  assert(blocks.length >= 5, `found only ${blocks.length} YAML configurations`);
  const dir = await Deno.makeTempDir({ prefix: "dewey_docs_yaml_" });
  try {
    for (const b of blocks) {
      // A variable without a default must be set; give each a value of the right shape for a string key.
      const env: Record<string, string> = {};
      for (const m of b.code.matchAll(/\$\{(\w+)(:\?[^}]*)?\}/g)) env[m[1]] = "placeholder";
      const file = `${dir}/${fileName(b).replace(/\.ts$/, ".yaml")}`;
      await Deno.writeTextFile(file, b.code);
      await assert.doesNotReject(() => loadConfig(file, { env }), `${where(b)} is not a valid configuration`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("docs: the generated tables are what deno task docs writes", async () => {
  assert.deepEqual([...GENERATED_FILES].sort(), ["docs/api.md", "docs/configuration.md"]);
  for (const file of GENERATED_FILES) {
    const current = await Deno.readTextFile(ROOT + file);
    assert.equal(await generate(file, current), current, `${file} is stale: run \`deno task docs\``);
  }
  const config = await Deno.readTextFile(`${ROOT}docs/configuration.md`);
  const stale = config.replace(/\| `pool_max` +\|[^\n]*/, "| `pool_max` | integer | `99` | | Edited by hand. |");
  assert.notEqual(stale, config, "the pool_max row exists");
  assert.equal(await generate("docs/configuration.md", stale), config, "the generator rewrites an edited row");
});

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, "").replace(/\s/g, "-");
}

async function anchors(file: string): Promise<Set<string>> {
  const text = await Deno.readTextFile(ROOT + file);
  const fenced = new Set(codeBlocks(file, text).flatMap((b) => b.code.split("\n")));
  return new Set(
    text.split("\n").filter((l) => /^#{1,6} /.test(l) && !fenced.has(l)).map((l) => slug(l.replace(/^#+ /, ""))),
  );
}

Deno.test("docs: every relative link leads to a file, and every #anchor to a heading in it", async () => {
  const broken: string[] = [];
  for (const file of await markdownFiles()) {
    const text = (await Deno.readTextFile(ROOT + file)).replace(/^ *(```|~~~)[\s\S]*?^ *\1/gm, "");
    for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/.test(target)) continue; // https:, mailto:
      const [path, anchor] = target.split("#");
      const resolved = path ? new URL(path, new URL(file, "file:///")).pathname.slice(1) : file;
      const exists = await Deno.stat(ROOT + resolved).then(() => true, () => false);
      if (!exists) broken.push(`${file}: ${target} (no ${resolved})`);
      else if (anchor && resolved.endsWith(".md") && !(await anchors(resolved)).has(anchor)) {
        broken.push(`${file}: ${target} (no heading #${anchor})`);
      }
    }
  }
  assert.deepEqual(broken, []);
});
