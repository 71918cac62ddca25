/**
 * Node for the tests and the bench: Node 20 (the system `node` when it is 20,
 * else npm's `node@20`), Node 22 (npm's `node@22`: a package, not a
 * download), tsx and esbuild, installed with npm into `dist/node-tools/` on
 * first use; and scratch Node projects with the npm build installed from its
 * packed tarball, as a user would install it.
 *
 * The build, its tarball and the projects are kept in
 * `$TMPDIR/dewey-db-node-cache/` under a hash of what the build reads, so the
 * Node tests and the bench's Node cold start share one build per state of the
 * sources.
 *
 * @example
 * ```ts ignore
 * const tools = await nodeTools();
 * const app = await cachedProject("app");
 * const run = await runNode(tools.node22, ["-e", "import('@dewey/db')"], { cwd: app });
 * ```
 *
 * @module
 */

import { buildNpm } from "../../scripts/build_npm.ts";
import { parseNpmSpecifier } from "../../scripts/package_info.ts";

const ROOT = new URL("../../", import.meta.url);
const TOOLS_DIR = new URL("dist/node-tools/", ROOT);
// Outside the repository: Node resolves packages up the directory tree, and the repository's node_modules/ holds
// PGlite and the Neon driver, which the projects must not see.
const CACHE_DIR = new URL(`file://${Deno.env.get("TMPDIR") ?? "/tmp"}/dewey-db-node-cache/`);
/** What the npm build reads: a change to any of it makes a new build. */
const BUILD_INPUTS = [
  "deno.json",
  "README.md",
  "LICENSE",
  "mod.ts",
  "edge.ts",
  "src",
  "adapters",
  "doctor",
  "integrations",
  "scripts",
];
/** Cached builds of other states of the sources (other checkouts too) are removed once this old. */
const CACHE_MAX_AGE_MS = 86_400_000;

/** Node 22 as npm's `node` package ships it. */
export const NODE22_VERSION = "22.23.3";
/** Node 20, from npm only when the system `node` is not 20. */
export const NODE20_VERSION = "20.20.2";
/** tsx, the TypeScript runner Node users reach for. */
export const TSX_VERSION = "4.23.15";

/** Paths of the Node toolchain. */
export interface NodeTools {
  /** A Node 20 binary. */
  node20: string;
  /** A Node 22 binary. */
  node22: string;
  /** tsx's CLI module: `node <tsx> file.ts` runs a TypeScript file on that Node. */
  tsx: string;
  /** esbuild's CLI (the version `deno.dev.json` pins). */
  esbuild: string;
}

/** What a finished process printed. */
export interface Run {
  /** Exit code. */
  code: number;
  /** Standard output. */
  stdout: string;
  /** Standard error. */
  stderr: string;
}

/**
 * Runs a program to its end; never throws for a non-zero exit, only when it cannot start.
 *
 * @example
 * ```ts ignore
 * const { code, stdout } = await run("npm", ["--version"], { cwd: "/tmp" });
 * ```
 */
export async function run(
  program: string,
  args: string[],
  options: { cwd: string; env?: Record<string, string>; timeoutMs?: number },
): Promise<Run> {
  const stop = new AbortController();
  const timer = setTimeout(() => stop.abort(), options.timeoutMs ?? 300_000);
  const out = await new Deno.Command(program, {
    args,
    cwd: options.cwd,
    env: options.env,
    clearEnv: options.env !== undefined,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: stop.signal,
  }).output().finally(() => clearTimeout(timer));
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}

/** `npm <args>` in `cwd`; throws with npm's output when it fails. */
export async function npm(cwd: string, args: string[]): Promise<string> {
  const out = await run("npm", [...args, "--no-audit", "--no-fund", "--loglevel=error"], { cwd });
  if (out.code !== 0) throw new Error(`npm ${args.join(" ")} in ${cwd} exited ${out.code}:\n${out.stderr}`);
  return out.stdout;
}

async function systemNodeMajor(): Promise<number | undefined> {
  try {
    const out = await run("node", ["--version"], { cwd: "/" });
    return Number(/^v(\d+)\./.exec(out.stdout)?.[1]);
  } catch {
    return undefined;
  }
}

async function esbuildVersion(): Promise<string> {
  const config = JSON.parse(await Deno.readTextFile(new URL("deno.dev.json", ROOT)));
  const pin = parseNpmSpecifier(config.imports.esbuild);
  if (!pin) throw new Error("deno.dev.json does not pin esbuild");
  return pin.version;
}

let tools: Promise<NodeTools> | undefined;

/**
 * Installs the toolchain into `dist/node-tools/` (npm is a no-op when it is there already) and returns its paths.
 *
 * @example
 * ```ts ignore
 * const { node22 } = await nodeTools();
 * ```
 */
export function nodeTools(): Promise<NodeTools> {
  return tools ??= (async () => {
    const dir = TOOLS_DIR.pathname;
    const systemIs20 = (await systemNodeMajor()) === 20;
    const dependencies: Record<string, string> = {
      node22: `npm:node@${NODE22_VERSION}`,
      tsx: TSX_VERSION,
      esbuild: await esbuildVersion(),
      ...(systemIs20 ? {} : { node20: `npm:node@${NODE20_VERSION}` }),
    };
    const manifest = JSON.stringify({ name: "dewey-node-tools", private: true, dependencies }, null, 2) + "\n";
    await Deno.mkdir(dir, { recursive: true });
    const path = `${dir}package.json`;
    const installed = await Deno.stat(`${dir}node_modules/.package-lock.json`).then(() => true, () => false);
    if (!installed || await Deno.readTextFile(path).catch(() => "") !== manifest) {
      await Deno.writeTextFile(path, manifest);
      await npm(dir, ["install"]);
    }
    return {
      node20: systemIs20 ? "node" : `${dir}node_modules/node20/bin/node`,
      node22: `${dir}node_modules/node22/bin/node`,
      tsx: `${dir}node_modules/tsx/dist/cli.mjs`,
      esbuild: `${dir}node_modules/esbuild/bin/esbuild`,
    };
  })();
}

/**
 * Builds the npm package and packs it into `dir`; returns the tarball's path.
 *
 * @example
 * ```ts ignore
 * const tarball = await packNpm(await Deno.makeTempDir());
 * ```
 */
export async function packNpm(dir: string): Promise<string> {
  const build = `${dir}/package`;
  await buildNpm(new URL(`file://${build}/`));
  const [packed] = JSON.parse(await npm(build, ["pack", "--json", "--pack-destination", dir]));
  return `${dir}/${packed.filename}`;
}

async function files(path: string): Promise<string[]> {
  const info = await Deno.stat(path);
  if (!info.isDirectory) return [path];
  const out: string[] = [];
  for await (const e of Deno.readDir(path)) out.push(...await files(`${path}/${e.name}`));
  return out.sort();
}

/** A hash of every file the build reads. */
async function sourceKey(): Promise<string> {
  const all = (await Promise.all(BUILD_INPUTS.map((p) => files(new URL(p, ROOT).pathname)))).flat();
  const parts: Uint8Array[] = [];
  for (const f of all) {
    parts.push(new TextEncoder().encode(`${f.slice(ROOT.pathname.length)}\0`), await Deno.readFile(f));
  }
  const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    bytes.set(p, at);
    at += p.length;
  }
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return [...digest.slice(0, 8)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

const exists = (path: string) => Deno.stat(path).then(() => true, () => false);

/**
 * `make(tmp)` fills a fresh directory that then becomes `${CACHE_DIR}${key}/${name}`, unless a concurrent run
 * put one there first; returns the path.
 */
async function cached(key: string, name: string, make: (dir: string) => Promise<void>): Promise<string> {
  const final = `${CACHE_DIR.pathname}${key}/${name}`;
  if (await exists(`${final}/.complete`)) return final;
  await Deno.mkdir(`${CACHE_DIR.pathname}${key}`, { recursive: true });
  const tmp = await Deno.makeTempDir({ dir: `${CACHE_DIR.pathname}${key}`, prefix: `.${name}-` });
  try {
    await make(tmp);
    await Deno.writeTextFile(`${tmp}/.complete`, "");
    await Deno.rename(tmp, final).catch(async (e) => {
      if (!(await exists(`${final}/.complete`))) throw e;
    });
  } finally {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
  return final;
}

async function pruneCache(keep: string): Promise<void> {
  for await (const e of Deno.readDir(CACHE_DIR)) {
    if (e.name === keep) continue;
    const path = `${CACHE_DIR.pathname}${e.name}`;
    // Another run may be pruning too: what it removed first is gone either way.
    await Deno.stat(path).then(({ mtime }) => {
      if (mtime && Date.now() - mtime.getTime() > CACHE_MAX_AGE_MS) return Deno.remove(path, { recursive: true });
    }).catch(() => {});
  }
}

/**
 * The npm build of the current sources and its packed tarball, built once per state of the sources.
 *
 * @example
 * ```ts ignore
 * const { dir, tarball } = await npmBuild();
 * ```
 */
export async function npmBuild(): Promise<{ dir: string; tarball: string }> {
  const key = await sourceKey();
  const path = await cached(key, "build", async (tmp) => {
    const tarball = await packNpm(tmp);
    await Deno.rename(tarball, `${tmp}/package.tgz`);
  });
  await pruneCache(key);
  return { dir: `${path}/package`, tarball: `${path}/package.tgz` };
}

/**
 * A scratch Node project (see {@linkcode nodeProject}) with the current npm build and `dependencies` installed,
 * made once per state of the sources and `name`. Write what a run adds into a directory of its own inside it.
 *
 * @example
 * ```ts ignore
 * const full = await cachedProject("full", { "@electric-sql/pglite": "0.5.16" });
 * ```
 */
export async function cachedProject(name: string, dependencies: Record<string, string> = {}): Promise<string> {
  const { tarball } = await npmBuild();
  const key = tarball.split("/").at(-3)!;
  return await cached(key, name, (tmp) => nodeProject(tmp, tarball, dependencies));
}

/**
 * A Node project in `dir` (no `"type"`: CommonJS by default, as `npm init` makes it) with the tarball installed and
 * `dependencies` on top.
 *
 * @example
 * ```ts ignore
 * await nodeProject(`${dir}/full`, tarball, { "@electric-sql/pglite": "0.5.16" });
 * ```
 */
export async function nodeProject(dir: string, tarball: string, dependencies: Record<string, string> = {}) {
  await Deno.mkdir(dir, { recursive: true });
  const manifest = { name: "dewey-scratch", private: true, version: "0.0.0" };
  await Deno.writeTextFile(`${dir}/package.json`, JSON.stringify(manifest, null, 2) + "\n");
  const extra = Object.entries(dependencies).map(([name, version]) => `${name}@${version}`);
  await npm(dir, ["install", "--save-exact", tarball, ...extra]);
}

/**
 * Runs `node` (the binary given) with a clean environment: `PATH`, `HOME` and `env`.
 *
 * @example
 * ```ts ignore
 * const out = await runNode(tools.node20, ["app.mjs"], { cwd, env: { DATABASE_URL } });
 * ```
 */
export function runNode(
  node: string,
  args: string[],
  options: { cwd: string; env?: Record<string, string>; timeoutMs?: number },
): Promise<Run> {
  const env = { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", HOME: Deno.env.get("HOME") ?? "/", ...options.env };
  return run(node, args, { ...options, env });
}

if (import.meta.main) {
  const t = await nodeTools();
  for (const [name, path] of Object.entries(t)) {
    const out = await run(path.endsWith(".mjs") ? t.node20 : path, [
      ...path.endsWith(".mjs") ? [path] : [],
      "--version",
    ], {
      cwd: ROOT.pathname,
    });
    console.log(`${name.padEnd(8)} ${out.stdout.trim().split("\n")[0]}  ${path}`);
  }
}
