/**
 * What telemetry costs on the hot path: `SELECT 1` from 64 callers on 10
 * connections (the `throughput` shape), @dewey/db four ways in one process,
 * interleaved: without telemetry (the reference), with `otel()` and no SDK
 * registered (the API's no-op: the library must do no span work), with `otel()`
 * on the real SDK recording every span (AlwaysOn sampler, batch processor into
 * a no-op exporter) and metrics, and with the Prometheus `metricsHandler`.
 *
 * @module
 */

import { MeterProvider, MetricReader } from "@opentelemetry/sdk-metrics";
import {
  AlwaysOnSampler,
  BasicTracerProvider,
  BatchSpanProcessor,
  type ReadableSpan,
  type SpanExporter,
} from "@opentelemetry/sdk-trace-base";
import { otel } from "../../integrations/otel.ts";
import { metricsHandler } from "../../integrations/prometheus.ts";
import { openOurs } from "../contenders.ts";
import { type Contender, drive, interleave, pairedMedian, summarise } from "../stats.ts";
import type { BenchContext, Scenario, ScenarioResult } from "../types.ts";

const OFF = "no telemetry";
const NOOP = "otel(), no SDK";
const SDK = "otel() + SDK, every span";
const PROM = "metricsHandler";

/** Counts what it is handed and keeps nothing: the export side costs nothing measurable. */
class CountingExporter implements SpanExporter {
  spans = 0;
  export(spans: ReadableSpan[], done: Parameters<SpanExporter["export"]>[1]): void {
    this.spans += spans.length;
    done({ code: 0 });
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

class IdleReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

/** The scenario. */
export const otelOverhead: Scenario = {
  id: "otel-overhead",
  async run(ctx: BenchContext): Promise<ScenarioResult> {
    const perRound = ctx.quick ? 200 : 30_000;
    const exporter = new CountingExporter();
    const tracerProvider = new BasicTracerProvider({
      sampler: new AlwaysOnSampler(),
      // A queue that holds a round: every span is recorded and exported, none dropped.
      spanProcessors: [
        new BatchSpanProcessor(exporter, {
          maxQueueSize: 2 * perRound,
          maxExportBatchSize: 2048,
          scheduledDelayMillis: 50,
        }),
      ],
    });
    const meterProvider = new MeterProvider({ readers: [new IdleReader()] });
    // Four databases at once: a quick run keeps them small, the shared server has other clients.
    const [off, noop, sdk, prom] = await Promise.all([1, 2, 3, 4].map(() => openOurs(ctx.url, ctx.quick ? 2 : 10)));
    noop.instrument(otel());
    sdk.instrument(otel({ tracerProvider, meterProvider }));
    const scrape = metricsHandler(prom);
    try {
      const rate = (db: typeof off) => async () => {
        const ms = await drive(64, perRound, () => db.sql`SELECT 1`);
        return { value: perRound / ms * 1000 };
      };
      const contenders: Contender[] = [
        { name: OFF, round: rate(off) },
        { name: NOOP, round: rate(noop) },
        { name: SDK, round: rate(sdk) },
        { name: PROM, round: rate(prom) },
      ];
      const samples = await interleave(contenders, { rounds: ctx.quick ? 1 : 5, warmup: 1, log: ctx.log });
      await tracerProvider.forceFlush();
      const ratio = (name: string) => pairedMedian(samples, name, OFF, (a, b) => a / b).toFixed(3);
      const series = (await scrape(new Request("http://bench/metrics")).text()).length;
      return {
        id: this.id,
        title: "Telemetry overhead: SELECT 1, 64 callers on 10 connections",
        unit: "q/s",
        better: "higher",
        reference: OFF,
        rounds: samples.get(OFF)!.length,
        contenders: summarise(samples, OFF),
        targets: [],
        notes: [
          `vs ${OFF}: ${NOOP} ${ratio(NOOP)}×, ${SDK} ${ratio(SDK)}×, ${PROM} ${ratio(PROM)}×.`,
          `${exporter.spans} spans exported (every statement of every round, warm-up included); ` +
          `${series} bytes of Prometheus text at the end.`,
          `The ${OFF} row against main's is the "zero cost when off" check: compare the throughput scenario's ` +
          `ratio across the two trees.`,
        ],
      };
    } finally {
      await Promise.all([off, noop, sdk, prom].map((db) => db.close()));
      await tracerProvider.shutdown();
      await meterProvider.shutdown();
    }
  },
};
