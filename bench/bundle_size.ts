/**
 * Bundle size of the Worker example against the same Worker written directly
 * on the Neon driver (`bench/neon_direct_worker.ts`): esbuild with wrangler's
 * flags, minified, then gzip -9. Target: the @dewey/db Worker at most 15 KB
 * gzip larger. Also lists which of our modules weigh most.
 *
 * `deno run -A bench/bundle_size.ts`
 *
 * @module
 */

import { gzipSync } from "node:zlib";
import { bundleWorker, type WorkerBundle } from "../examples/cloudflare-worker/bundle.ts";

const TARGET_KB = 15;
const gzip = (code: string) => gzipSync(new TextEncoder().encode(code), { level: 9 }).length;
const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;

const workers: [string, string][] = [
  ["Neon driver directly (baseline)", "../../bench/neon_direct_worker.ts"],
  ["@dewey/db/edge, Neon (the example)", "src/worker.ts"],
  ["@dewey/db/edge/postgres, postgres.js over cloudflare:sockets", "src/hyperdrive.ts"],
];

/** Sizes of the three Workers, in bytes: minified and gzip -9. */
export async function measureBundleSize(): Promise<{ contenders: { name: string; bytes: number; gzip: number }[] }> {
  const rows = await measure();
  return { contenders: rows.map((r) => ({ name: r.name, bytes: r.min, gzip: r.gz })) };
}

async function measure(): Promise<{ name: string; bundle: WorkerBundle; min: number; gz: number }[]> {
  const rows: { name: string; bundle: WorkerBundle; min: number; gz: number }[] = [];
  for (const [name, entry] of workers) {
    const bundle = await bundleWorker(entry);
    rows.push({ name, bundle, min: bundle.code.length, gz: gzip(bundle.code) });
  }
  return rows;
}

if (import.meta.main) await printReport();

async function printReport(): Promise<void> {
  const rows = await measure();
  const base = rows[0];
  console.log("| Worker | minified | gzip -9 | vs baseline (gzip) |");
  console.log("|---|---:|---:|---:|");
  for (const r of rows) {
    const diff = r === base ? "" : `+${kb(r.gz - base.gz)}`;
    console.log(`| ${r.name} | ${kb(r.min)} | ${kb(r.gz)} | ${diff} |`);
  }
  const over = rows[1].gz - base.gz;
  console.log(
    `\n@dewey/db/edge adds ${kb(over)} gzip to a Neon Worker (target ≤ ${TARGET_KB} KB): ` +
      (over <= TARGET_KB * 1024 ? "within target" : `over by ${kb(over - TARGET_KB * 1024)}`),
  );

  console.log("\nHeaviest of our modules in the Neon Worker (minified bytes in the bundle):");
  const ours = Object.entries(rows[1].bundle.inputs).filter(([file]) => !file.includes("@neondatabase"));
  const group = (file: string) => file.includes("/zod@") ? "zod/mini" : file;
  const sums = new Map<string, number>();
  for (const [file, bytes] of ours) sums.set(group(file), (sums.get(group(file)) ?? 0) + bytes);
  for (const [file, bytes] of [...sums].sort((a, b) => b[1] - a[1]).slice(0, 12)) {
    console.log(`  ${String(bytes).padStart(6)}  ${file}`);
  }
  console.log(`  ${String(ours.reduce((a, [, b]) => a + b, 0)).padStart(6)}  total beside the Neon driver`);
}
