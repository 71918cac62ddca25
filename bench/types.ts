/**
 * Shapes shared by the benchmark scenarios, the table printer and `--json`.
 *
 * @module
 */

/** Which way is better for a scenario's numbers. */
export type Better = "higher" | "lower";

/** One contender's numbers in a scenario: medians over the measured rounds. */
export interface ContenderResult {
  /** `@dewey/db`, `postgres.js`, `pg Pool`, `pgbench`... */
  name: string;
  /** Median over rounds of the per-round metric. */
  median: number;
  /** Smallest per-round metric. */
  min: number;
  /** Largest per-round metric. */
  max: number;
  /** Every measured round's metric, in run order. */
  samples: number[];
  /** Secondary medians, e.g. `{ p99: 130 }`. */
  extra?: Record<string, number>;
  /** Median over rounds of this contender's metric divided by the reference's in the same round. */
  ratio?: number;
}

/** A target and whether this run met it. */
export interface TargetResult {
  /** What is compared, e.g. `@dewey/db ≥ 1.3× postgres.js`. */
  label: string;
  /** The measured number the target is judged on. */
  measured: number;
  /** How `measured` is printed, e.g. `1.62×`. */
  shown: string;
  /** `>=` or `<=` against `threshold`. */
  op: ">=" | "<=";
  /** The bound. */
  threshold: number;
  /** Whether `measured op threshold` holds. */
  pass: boolean;
}

/** What one scenario reports. */
export interface ScenarioResult {
  /** Short id, used by `--only`. */
  id: string;
  /** Heading in the table. */
  title: string;
  /** Unit of `median` (`q/s`, `µs`, `ms`, `KiB`, `pairs/s`, `bytes`). */
  unit: string;
  /** Which way is better. */
  better: Better;
  /** Contender whose numbers the ratios divide by. */
  reference?: string;
  /** Measured rounds per contender (after warm-up). */
  rounds: number;
  /** Per contender. */
  contenders: ContenderResult[];
  /** Targets judged in this scenario. */
  targets: TargetResult[];
  /** Anything a reader needs to interpret the numbers. */
  notes: string[];
  /** Set when the scenario could not run; the other fields are then partial. */
  error?: string;
  /** Wall time of the whole scenario, ms. */
  wallMs?: number;
}

/** Settings every scenario receives. */
export interface BenchContext {
  /** Tiny counts for the smoke test. */
  quick: boolean;
  /** The database to measure against. */
  url: URL;
  /** Pipe progress lines here (stderr), never stdout. */
  log: (line: string) => void;
}

/** A scenario module's entry point. */
export interface Scenario {
  /** Short id, used by `--only`. */
  id: string;
  /** What it measures. */
  run(ctx: BenchContext): Promise<ScenarioResult>;
}
