/**
 * Edge bundle size: the Workers example on @dewey/db against the same Worker
 * written directly on the Neon driver. Measured by `bench/bundle_size.ts`
 * (owned separately); this scenario only adapts its answer to the table, and
 * reports itself as not run when that module is absent.
 *
 * The module may export either a `Scenario` named `bundleSize` (used as is),
 * or a function `measureBundleSize()` (or a default export) resolving to
 * `{ contenders: [{ name, bytes, gzip? }] }` or to `{ [name]: bytes | { bytes, gzip } }`.
 *
 * @module
 */

import { target } from "../stats.ts";
import type { BenchContext, ContenderResult, Scenario, ScenarioResult } from "../types.ts";

/** The @dewey/db Worker at most this many KB (1024 bytes) gzip larger than the Neon-only one. */
const TARGET_KB = 15;

type Sizes = { name: string; bytes: number; gzip?: number }[];

function normalise(answer: unknown): Sizes {
  const a = answer as { contenders?: unknown };
  if (Array.isArray(a?.contenders)) return a.contenders as Sizes;
  if (answer && typeof answer === "object") {
    return Object.entries(answer as Record<string, unknown>).flatMap(([name, v]) => {
      if (typeof v === "number") return [{ name, bytes: v }];
      const o = v as { bytes?: unknown; gzip?: unknown; raw?: unknown; size?: unknown };
      const bytes = Number(o?.bytes ?? o?.raw ?? o?.size);
      return Number.isFinite(bytes) ? [{ name, bytes, gzip: o?.gzip === undefined ? undefined : Number(o.gzip) }] : [];
    });
  }
  throw new Error(`bench/bundle_size.ts answered ${JSON.stringify(answer)}`);
}

/** The scenario. */
export const bundle: Scenario = {
  id: "bundle",
  async run(ctx: BenchContext): Promise<ScenarioResult> {
    const base: ScenarioResult = {
      id: this.id,
      title: "Edge bundle: Workers example, @dewey/db vs Neon driver directly",
      unit: "KB gzip",
      better: "lower",
      rounds: 0,
      contenders: [],
      targets: [],
      notes: [],
    };
    const path = new URL("../bundle_size.ts", import.meta.url);
    try {
      await Deno.stat(path);
    } catch {
      base.notes.push("not run: bench/bundle_size.ts is not there yet (hook: bench/scenarios/bundle.ts).");
      return base;
    }
    const mod = await import(path.href) as Record<string, unknown>;
    const scenario = mod.bundleSize as Scenario | undefined;
    if (scenario && typeof scenario.run === "function") return { ...await scenario.run(ctx), id: this.id };
    const fn = (mod.measureBundleSize ?? mod.default) as (() => Promise<unknown>) | undefined;
    if (typeof fn !== "function") {
      throw new Error("bench/bundle_size.ts exports neither bundleSize nor measureBundleSize");
    }
    const sizes = normalise(await fn());
    // KB of 1024 bytes, as bench/bundle_size.ts prints them.
    const kb = (s: Sizes[number]) => (s.gzip ?? s.bytes) / 1024;
    const ref = sizes.find((s) => /neon/i.test(s.name)) ?? sizes.at(-1);
    const ours = sizes.find((s) => s !== ref && /edge, neon/i.test(s.name));
    base.rounds = 1;
    base.reference = ref?.name;
    base.unit = sizes.every((s) => s.gzip !== undefined) ? "KB gzip" : "KB";
    base.contenders = sizes.map((s): ContenderResult => ({
      name: s.name,
      median: kb(s),
      min: kb(s),
      max: kb(s),
      samples: [kb(s)],
      ratio: ref ? kb(s) / kb(ref) : undefined,
      extra: s.gzip === undefined ? undefined : { raw: s.bytes / 1024 },
    }));
    if (ref && ours) {
      const over = kb(ours) - kb(ref);
      base.targets.push(
        target(
          `@dewey/db/edge ≤ +${TARGET_KB} KB gzip over the Neon driver alone`,
          over,
          "<=",
          TARGET_KB,
          `+${over.toFixed(1)} KB`,
        ),
      );
    }
    base.notes.push("esbuild, minified; one measurement (sizes do not vary between runs).");
    return base;
  },
};
