/**
 * What a first run fetches: `deno cache` of the demo with `deno.json` into an
 * empty `DENO_DIR` (what the first `deno task demo` fetches, and what an
 * application importing @dewey/db fetches), measured as the npm packages Deno
 * unpacked there; against what the tests and the bench install with
 * `deno.dev.json` (the packages in `node_modules/.deno/`, which this run of
 * the bench uses). Target: the demo fetches no package that only the tests or
 * the bench use.
 *
 * @module
 */

import { parseNpmSpecifier } from "../../scripts/package_info.ts";
import { target } from "../stats.ts";
import type { BenchContext, ContenderResult, Scenario, ScenarioResult } from "../types.ts";

const ROOT = new URL("../../", import.meta.url);
const DEMO = "first `deno task demo` (deno.json)";
const DEV = "tests and bench (deno.dev.json, node_modules)";

/** What a set of unpacked npm packages holds. */
interface Packages {
  packages: Set<string>;
  bytes: number;
  ms?: number;
}

/** The npm packages a fresh Deno cache holds after `deno cache`, and their unpacked bytes. */
async function fetched(flags: string[]): Promise<Packages> {
  const denoDir = await Deno.makeTempDir({ prefix: "dewey_bench_denodir_" });
  try {
    const t0 = performance.now();
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["cache", "--quiet", ...flags, "examples/demo.ts"],
      cwd: ROOT,
      env: { DENO_DIR: denoDir, DENO_NO_UPDATE_CHECK: "1" },
      stdin: "null",
    }).output();
    const ms = performance.now() - t0;
    if (!out.success) throw new Error(`deno cache ${flags.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
    const registry = `${denoDir}/npm/registry.npmjs.org`;
    const packages = new Set<string>();
    for await (const entry of Deno.readDir(registry)) {
      if (!entry.isDirectory) continue;
      const names = entry.name.startsWith("@")
        ? (await Array.fromAsync(Deno.readDir(`${registry}/${entry.name}`))).map((e) => `${entry.name}/${e.name}`)
        : [entry.name];
      for (const name of names) {
        const versions = await Array.fromAsync(Deno.readDir(`${registry}/${name}`));
        if (versions.some((v) => v.isDirectory)) packages.add(name);
      }
    }
    return { packages, bytes: await size(registry), ms };
  } finally {
    await Deno.remove(denoDir, { recursive: true });
  }
}

async function size(path: string): Promise<number> {
  let total = 0;
  for await (const entry of Deno.readDir(path)) {
    const child = `${path}/${entry.name}`;
    if (entry.isDirectory) total += await size(child);
    else if (entry.isFile) total += (await Deno.stat(child)).size;
  }
  return total;
}

/** The packages `deno.dev.json` installed into `node_modules/.deno/` (`name@version`, `@scope+name@version`). */
async function installed(): Promise<Packages> {
  const dir = new URL("node_modules/.deno/", ROOT).pathname;
  const packages = new Set<string>();
  for await (const e of Deno.readDir(dir)) {
    const m = /^(@?[^@]+)@\d/.exec(e.name);
    if (e.isDirectory && m) packages.add(m[1].replace("+", "/"));
  }
  return { packages, bytes: await size(dir) };
}

/** Packages only the tests and the bench need: what `deno.dev.json` adds, with everything they pull in. */
async function devOnly(): Promise<Set<string>> {
  const root = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT)));
  const dev = JSON.parse(await Deno.readTextFile(new URL("deno.dev.json", ROOT)));
  const lock = JSON.parse(await Deno.readTextFile(new URL("deno.dev.lock", ROOT)));
  const deps = new Map<string, string[]>();
  for (const [key, value] of Object.entries(lock.npm as Record<string, Record<string, string[]>>)) {
    const name = key.replace(/^(@?[^@]+)@.*$/, "$1");
    deps.set(
      name,
      [...value.dependencies ?? [], ...value.optionalDependencies ?? []].map((d) => d.replace(/@[^@/]*$/, "")),
    );
  }
  const closure = (roots: string[]) => {
    const seen = new Set<string>();
    for (const queue = [...roots]; queue.length;) {
      const name = queue.pop()!;
      if (seen.has(name)) continue;
      seen.add(name);
      queue.push(...deps.get(name) ?? []);
    }
    return seen;
  };
  const names = (imports: Record<string, string>) =>
    Object.values(imports).flatMap((s) => parseNpmSpecifier(s)?.name ?? []);
  const runtime = closure(names(root.imports));
  return new Set([...closure(names(dev.imports))].filter((n) => !runtime.has(n)));
}

/** The scenario. */
export const installSize: Scenario = {
  id: "install",
  async run(_ctx: BenchContext): Promise<ScenarioResult> {
    const demo = await fetched([]);
    const dev = await installed();
    const only = await devOnly();
    const leaked = [...demo.packages].filter((p) => only.has(p));
    const mb = (b: number) => b / 1024 / 1024;
    const row = (name: string, r: typeof demo): ContenderResult => ({
      name,
      median: mb(r.bytes),
      min: mb(r.bytes),
      max: mb(r.bytes),
      samples: [mb(r.bytes)],
      ratio: r.bytes / dev.bytes,
      extra: { packages: r.packages.size, ...r.ms === undefined ? {} : { "fetch s": r.ms / 1000 } },
    });
    return {
      id: this.id,
      title: "First run: npm packages fetched into a fresh Deno cache",
      unit: "MB unpacked",
      better: "lower",
      reference: DEV,
      rounds: 1,
      contenders: [row(DEMO, demo), row(DEV, dev)],
      targets: [
        target(
          "the demo's first run fetches no test or bench tool",
          leaked.length,
          "<=",
          0,
          leaked.length ? leaked.join(", ") : "none",
        ),
      ],
      notes: [
        `The demo fetches ${[...demo.packages].sort().join(", ")}.`,
        "The demo: `deno cache examples/demo.ts` with an empty DENO_DIR. The tests and the bench: node_modules/.deno/. " +
        "Sizes are the unpacked packages, not the tarballs.",
      ],
    };
  },
};
