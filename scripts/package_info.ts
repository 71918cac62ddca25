/**
 * What `deno.json` says about the package, read once for the npm build, the
 * publish checks and the Node tests, so that an entry or a dependency added to
 * `deno.json` reaches all of them without editing any.
 *
 * @module
 */

const ROOT = new URL("../", import.meta.url);

/** One npm dependency as `deno.json` pins it. */
export interface NpmPin {
  /** The package name, `@neondatabase/serverless`. */
  name: string;
  /** The exact version, `1.2.0`. */
  version: string;
}

/** The package as `deno.json` describes it. */
export interface PackageInfo {
  /** Repository root (a directory URL). */
  root: URL;
  /** `@dewey/db`. */
  name: string;
  /** `0.1.0`. */
  version: string;
  /** `MIT`. */
  license: string;
  /** Export subpath (`.`, `./edge`) to the source file it maps to (`./edge.ts`). */
  exports: Record<string, string>;
  /** Bare specifier (`zod/mini`) to the npm package it maps to. */
  imports: Record<string, NpmPin>;
  /** `publish.include` of `deno.json`. */
  publishInclude: string[];
}

/**
 * Parses `npm:name@version/sub/path` into the package and its exact version.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseNpmSpecifier } from "./package_info.ts";
 * assert.deepEqual(parseNpmSpecifier("npm:@scope/pkg@1.2.3/sub"), { name: "@scope/pkg", version: "1.2.3" });
 * assert.equal(parseNpmSpecifier("jsr:@std/assert@1"), undefined);
 * ```
 */
export function parseNpmSpecifier(specifier: string): NpmPin | undefined {
  const m = /^npm:(@[^/@]+\/[^/@]+|[^/@]+)@([^/]+)(?:\/.*)?$/.exec(specifier);
  return m ? { name: m[1], version: m[2] } : undefined;
}

/**
 * Reads `deno.json`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readPackageInfo } from "./package_info.ts";
 * const info = await readPackageInfo();
 * assert.equal(info.exports["."], "./mod.ts");
 * ```
 */
export async function readPackageInfo(): Promise<PackageInfo> {
  const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT)));
  const exports: Record<string, string> = typeof config.exports === "string" ? { ".": config.exports } : config.exports;
  const imports: Record<string, NpmPin> = {};
  for (const [bare, target] of Object.entries(config.imports ?? {})) {
    const pin = parseNpmSpecifier(String(target));
    if (pin) imports[bare] = pin;
  }
  return {
    root: ROOT,
    name: config.name,
    version: config.version,
    license: config.license,
    exports,
    imports,
    publishInclude: config.publish?.include ?? [],
  };
}

/**
 * The npm package a bare specifier belongs to: `zod/mini` → `zod`, `@a/b/c` → `@a/b`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { packageOf } from "./package_info.ts";
 * assert.equal(packageOf("@electric-sql/pglite/vector"), "@electric-sql/pglite");
 * assert.equal(packageOf("zod/mini"), "zod");
 * ```
 */
export function packageOf(bare: string): string {
  const parts = bare.split("/");
  return bare.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
}
