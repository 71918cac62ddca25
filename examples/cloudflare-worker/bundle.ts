/**
 * Bundles a Worker the way wrangler does (esbuild, ESM, `workerd` export
 * condition, `node:*` and `cloudflare:*` left to the runtime), with the
 * `alias` entries of `wrangler.jsonc`. Used by the Worker tests and the bundle
 * size bench; `deno run -A examples/cloudflare-worker/bundle.ts [entry]` writes
 * `dist/worker.js` next to this file.
 *
 * @module
 */

import * as esbuild from "esbuild";

const here = new URL(".", import.meta.url);

/** What the bundle holds. */
export interface WorkerBundle {
  /** The bundled module (ESM). */
  code: string;
  /** Input files and their bytes in the output, for checks on what was pulled in. */
  inputs: Record<string, number>;
  /** `node:*` and `cloudflare:*` modules left to the runtime and imported statically: the runtime must have them. */
  externals: string[];
  /** Those imported only dynamically: tried at run time, where their absence can be handled. */
  optionalExternals: string[];
}

/** Options of {@linkcode bundleWorker}. */
export interface BundleOptions {
  /** Minify (default true). */
  minify?: boolean;
  /** Import aliases on top of those in `wrangler.jsonc`, resolved against this directory. */
  alias?: Record<string, string>;
}

/**
 * `wrangler.jsonc` of this example, comments stripped.
 *
 * @example
 * ```ts ignore
 * const { compatibility_date, compatibility_flags } = await wranglerConfig();
 * ```
 */
export async function wranglerConfig(): Promise<{
  main: string;
  compatibility_date: string;
  compatibility_flags?: string[];
  alias?: Record<string, string>;
  vars?: Record<string, string>;
  env?: Record<string, { main?: string; vars?: Record<string, string> }>;
}> {
  const text = await Deno.readTextFile(new URL("wrangler.jsonc", here));
  // Line comments only, outside strings: enough for this file.
  return JSON.parse(text.replace(/^\s*\/\/.*$/gm, ""));
}

/**
 * Bundles `entry` (a path relative to this directory, or absolute).
 *
 * @example
 * ```ts ignore
 * const { code } = await bundleWorker("src/worker.ts");
 * ```
 */
export async function bundleWorker(entry: string, options: BundleOptions = {}): Promise<WorkerBundle> {
  const config = await wranglerConfig();
  const alias = Object.fromEntries(
    Object.entries({ ...config.alias, ...options.alias }).map(([k, v]) => [k, new URL(v, here).pathname]),
  );
  try {
    const result = await esbuild.build({
      entryPoints: [new URL(entry, here).pathname],
      absWorkingDir: new URL("../..", here).pathname,
      bundle: true,
      format: "esm",
      platform: "neutral",
      target: "es2022",
      conditions: ["workerd", "worker", "browser"],
      mainFields: ["module", "main"],
      external: ["node:*", "cloudflare:*"],
      minify: options.minify ?? true,
      alias,
      write: false,
      metafile: true,
      logLevel: "silent",
    });
    const out = Object.values(result.metafile.outputs)[0];
    const required = external(out.imports.filter((i) => i.kind !== "dynamic-import"));
    return {
      code: result.outputFiles[0].text,
      inputs: Object.fromEntries(Object.entries(out.inputs).map(([k, v]) => [k, v.bytesInOutput])),
      externals: required,
      optionalExternals: external(out.imports.filter((i) => i.kind === "dynamic-import" && !required.includes(i.path))),
    };
  } finally {
    await esbuild.stop();
  }
}

function external(imports: { path: string; external?: boolean }[]): string[] {
  return [...new Set(imports.filter((i) => i.external).map((i) => i.path))].sort();
}

if (import.meta.main) {
  const entry = Deno.args[0] ?? (await wranglerConfig()).main;
  const bundle = await bundleWorker(entry);
  await Deno.mkdir(new URL("dist", here), { recursive: true });
  await Deno.writeTextFile(new URL("dist/worker.js", here), bundle.code);
  const optional = bundle.optionalExternals.length
    ? ` (tried at run time: ${bundle.optionalExternals.join(", ")})`
    : "";
  console.log(
    `dist/worker.js: ${bundle.code.length} bytes; runtime modules: ${bundle.externals.join(", ") || "none"}${optional}`,
  );
}
