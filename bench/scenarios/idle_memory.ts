/**
 * Memory per idle pooled connection: a fresh process per measurement opens
 * `n` connections and leaves them idle; the RSS (and V8 heap) growth divided
 * by `n`, after a warm instance already loaded and compiled the code.
 * @dewey/db holds one postgres.js instance per connection (that is what lets
 * it pipeline on the least-loaded one), so this is where that design costs.
 *
 * @module
 */

import { runChild } from "../child.ts";
import { OURS, PG, RAW } from "../contenders.ts";
import { type Contender, interleave, type Sample, summarise } from "../stats.ts";
import type { BenchContext, Scenario, ScenarioResult } from "../types.ts";

/** The scenario. */
export const idleMemory: Scenario = {
  id: "memory",
  async run(ctx: BenchContext): Promise<ScenarioResult> {
    const n = ctx.quick ? 3 : 30;
    const child = (kind: string) => async (): Promise<Sample> => {
      const { stdout } = await runChild("idle_memory.ts", [kind, ctx.url.href, String(n)], undefined, [
        "--v8-flags=--expose-gc",
      ]);
      const line = stdout.split("\n").find((l) => l.startsWith("MEM "));
      if (!line) throw new Error(`idle_memory.ts ${kind} printed no MEM line: ${stdout.slice(-300)}`);
      const m = JSON.parse(line.slice(4)) as { rss: number; heap: number; external: number };
      return { value: m.rss / 1024, extra: { heap: m.heap / 1024, external: m.external / 1024 } };
    };
    const contenders: Contender[] = [
      { name: OURS, round: child("ours") },
      { name: RAW, round: child("raw") },
      { name: PG, round: child("pg") },
    ];
    const samples = await interleave(contenders, { rounds: ctx.quick ? 1 : 3, warmup: 0, log: ctx.log });
    return {
      id: this.id,
      title: `Memory per idle pooled connection (${n} idle)`,
      unit: "KiB",
      better: "lower",
      reference: RAW,
      rounds: samples.get(OURS)!.length,
      contenders: summarise(samples, RAW),
      targets: [],
      notes: [
        "RSS growth per connection (extra: V8 heap and external per connection), after gc, in a fresh process each. " +
        "No target; RSS is coarse (allocator pages), the heap column is the finer one.",
      ],
    };
  },
};
