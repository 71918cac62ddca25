/**
 * The shape shared by the throughput scenarios: many callers on a fixed
 * number of connections, each round a fixed number of operations, reported
 * as operations per second, with pgbench (same connection count) as the ceiling.
 *
 * @module
 */

import { openTrio, OURS, PG, PGBENCH, RAW, target as dbTarget, type Trio } from "./contenders.ts";
import { pgbench } from "./pgbench.ts";
import { type Contender, drive, interleave, type Sample, summarise } from "./stats.ts";
import type { BenchContext, ContenderResult } from "./types.ts";

/** One throughput measurement. */
export interface ThroughputSpec {
  /** Connections per contender (and pgbench clients). */
  connections: number;
  /** Concurrent callers in-process. */
  concurrency: number;
  /** Operations per round (full run). */
  perRound: number;
  /** Measured rounds (full run). */
  rounds: number;
  /** One operation per contender; `i` is the operation's index in the round. */
  ops: (trio: Trio) => Record<typeof OURS | typeof RAW | typeof PG, (i: number) => Promise<unknown>>;
  /** More in-process contenders, opened after the trio and closed with it (reference rows). */
  extra?: {
    name: string;
    open: (url: URL, connections: number) => Promise<{ op: (i: number) => Promise<unknown>; close(): Promise<void> }>;
  }[];
  /** The pgbench script for one transaction; omitted = no pgbench row. */
  pgbenchScript?: string;
  /** Runs once before the contenders open (tables...). */
  setup?: () => Promise<void>;
}

/** Samples and summary of a throughput run. */
export interface ThroughputRun {
  /** Raw per-round samples by contender. */
  samples: Map<string, Sample[]>;
  /** Summaries with ratios against raw postgres.js. */
  results: ContenderResult[];
  /** Operations per round actually used. */
  perRound: number;
}

/**
 * Runs a throughput measurement, interleaved, with one warm-up round.
 *
 * @example
 * ```ts ignore
 * const run = await throughput(ctx, { connections: 10, concurrency: 64, perRound: 30_000, rounds: 5, ops });
 * ```
 */
export async function throughput(ctx: BenchContext, spec: ThroughputSpec): Promise<ThroughputRun> {
  const perRound = ctx.quick ? Math.max(spec.concurrency * 2, 100) : spec.perRound;
  await spec.setup?.();
  await using trio = await openTrio(ctx.url, spec.connections);
  const ops = spec.ops(trio);
  const extras: { name: string; op: (i: number) => Promise<unknown>; close(): Promise<void> }[] = [];
  try {
    for (const e of spec.extra ?? []) extras.push({ name: e.name, ...await e.open(ctx.url, spec.connections) });
    return await measure(ctx, spec, perRound, ops, extras);
  } finally {
    await Promise.all(extras.map((e) => e.close()));
  }
}

async function measure(
  ctx: BenchContext,
  spec: ThroughputSpec,
  perRound: number,
  ops: ReturnType<ThroughputSpec["ops"]>,
  extras: { name: string; op: (i: number) => Promise<unknown> }[],
): Promise<ThroughputRun> {
  const rate = (op: (i: number) => Promise<unknown>) => async (): Promise<Sample> => {
    const ms = await drive(spec.concurrency, perRound, op);
    return { value: perRound / ms * 1000 };
  };
  const contenders: Contender[] = [
    { name: OURS, round: rate(ops[OURS]) },
    { name: RAW, round: rate(ops[RAW]) },
    { name: PG, round: rate(ops[PG]) },
    ...extras.map((e) => ({ name: e.name, round: rate(e.op) })),
  ];
  if (spec.pgbenchScript) {
    const script = spec.pgbenchScript;
    contenders.push({
      name: PGBENCH,
      round: async () => {
        const run = await pgbench({
          target: dbTarget(ctx.url),
          script,
          clients: spec.connections,
          transactions: perRound,
        });
        return { value: run.tps };
      },
    });
  }
  const samples = await interleave(contenders, { rounds: ctx.quick ? 1 : spec.rounds, warmup: 1, log: ctx.log });
  return { samples, results: summarise(samples, RAW), perRound };
}
