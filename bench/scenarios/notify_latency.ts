/**
 * `notify-latency`: from sending `pg_notify` to the handler running,
 * `db.listen()` against postgres.js's `sql.listen()`, one notification at a
 * time from a third connection: p50 (the metric) and p99 per round.
 *
 * @module
 */

import { openOurs, OURS, RAW, rawClient } from "../contenders.ts";
import { type Contender, interleave, pairedMedian, quantile, summarise } from "../stats.ts";
import type { BenchContext, Scenario, ScenarioResult } from "../types.ts";

/** The scenario. */
export const notifyLatency: Scenario = {
  id: "notify-latency",
  async run(ctx: BenchContext): Promise<ScenarioResult> {
    const count = ctx.quick ? 50 : 1000;
    const ours = await openOurs(ctx.url, 1);
    const raw = rawClient(ctx.url);
    const notifier = rawClient(ctx.url);
    let arrived: ((at: number) => void) | undefined;
    const handler = () => arrived?.(performance.now());
    const channel = (who: string) => `dewey bench ${who} ${Deno.pid}`;
    try {
      const subs = [
        await ours.listen(channel("ours"), handler),
        await raw.listen(channel("raw"), handler),
      ];
      const round = (ch: string) => async () => {
        const latencies: number[] = [];
        for (let i = 0; i < count; i++) {
          const got = new Promise<number>((resolve) => arrived = resolve);
          const t0 = performance.now();
          await notifier`SELECT pg_notify(${ch}, ${String(i)})`;
          latencies.push(((await got) - t0) * 1000);
        }
        return { value: quantile(latencies, 0.5), extra: { p99: quantile(latencies, 0.99) } };
      };
      const contenders: Contender[] = [
        { name: OURS, round: round(channel("ours")) },
        { name: RAW, round: round(channel("raw")) },
      ];
      const samples = await interleave(contenders, { rounds: ctx.quick ? 1 : 5, warmup: 1, log: ctx.log });
      const ratio = pairedMedian(samples, OURS, RAW, (a, b) => a / b);
      await Promise.all(subs.map((s) => s.unlisten()));
      return {
        id: this.id,
        title: "NOTIFY to handler (p50; p99 in other)",
        unit: "µs",
        better: "lower",
        reference: RAW,
        rounds: samples.get(OURS)!.length,
        contenders: summarise(samples, RAW),
        targets: [],
        notes: [
          `${count} notifications per round, one at a time, each sent by a third connection (pg_notify) and timed ` +
          `from before the send to the handler: the notifier's round trip is in both. ` +
          `${OURS} at ${ratio.toFixed(2)}× ${RAW}'s p50. No target: read the ratio.`,
        ],
      };
    } finally {
      await Promise.all([ours.close(), raw.end({ timeout: 1 }), notifier.end({ timeout: 1 })]);
    }
  },
};
