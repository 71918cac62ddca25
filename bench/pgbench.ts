/**
 * `pgbench`, PostgreSQL's own C client, as the ceiling: what the server and
 * loopback allow on this machine with the same number of connections.
 *
 * @module
 */

import { quantile } from "./stats.ts";
import { libpqFlags, type Target } from "./contenders.ts";

/** What one pgbench run reports. */
export interface PgbenchRun {
  /** Transactions per second, without connection setup. */
  tps: number;
  /** Per-transaction latencies in µs, when `log` was asked for. */
  latencies?: number[];
  /** pgbench's own CPU time (user + system), seconds, when `cpu` was asked for and `bash` is there. */
  cpuSeconds?: number;
}

/** One pgbench invocation. */
export interface PgbenchOptions {
  /** Connection fields. */
  target: Target;
  /** The custom script's text (`-f`). */
  script: string;
  /** Clients (`-c`), one connection each. */
  clients: number;
  /** Total transactions over all clients. */
  transactions: number;
  /** Worker threads (`-j`); default 1, like a single JS event loop. */
  threads?: number;
  /** Keep per-transaction latencies (`-l`). */
  log?: boolean;
  /** Measure pgbench's CPU time (run under `bash`, whose `times` reports its child's, to the ms). */
  cpu?: boolean;
}

let binary: string | undefined;

/**
 * Finds pgbench: `$DEWEY_PGBENCH`, PostgreSQL 15's, the newest under
 * `/usr/lib/postgresql`, else `pgbench` on PATH.
 *
 * @example
 * ```ts ignore
 * console.log(pgbenchPath());
 * ```
 */
export function pgbenchPath(): string {
  return binary ??= (() => {
    const candidates = [Deno.env.get("DEWEY_PGBENCH"), "/usr/lib/postgresql/15/bin/pgbench"];
    try {
      const versions = [...Deno.readDirSync("/usr/lib/postgresql")].map((e) => e.name).sort((a, b) => +b - +a);
      candidates.push(...versions.map((v) => `/usr/lib/postgresql/${v}/bin/pgbench`));
    } catch { /* no Debian layout */ }
    for (const c of candidates) {
      if (!c) continue;
      try {
        if (Deno.statSync(c).isFile) return c;
      } catch { /* next */ }
    }
    return "pgbench";
  })();
}

/**
 * Runs pgbench once with a custom script and `-M prepared`.
 *
 * @example
 * ```ts ignore
 * const { tps } = await pgbench({ target: t, script: "SELECT 1;\n", clients: 10, transactions: 20_000 });
 * ```
 */
export async function pgbench(options: PgbenchOptions): Promise<PgbenchRun> {
  const dir = await Deno.makeTempDir({ prefix: "dewey-bench-pgbench-" });
  try {
    const script = `${dir}/script.sql`;
    await Deno.writeTextFile(script, options.script);
    const perClient = Math.max(1, Math.ceil(options.transactions / options.clients));
    const t = options.target;
    const args = [
      "-n",
      "-M",
      "prepared",
      "-c",
      String(options.clients),
      "-j",
      String(options.threads ?? 1),
      "-t",
      String(perClient),
      "-f",
      script,
      ...libpqFlags(t),
      ...(options.log ? ["-l", `--log-prefix=${dir}/log`] : []),
      t.dbname,
    ];
    const env: Record<string, string> = { PGAPPNAME: "dewey_bench_pgbench", PGSSLMODE: "disable" };
    if (t.password) env.PGPASSWORD = t.password;
    // `times` prints the shell's CPU, then its children's: pgbench's, to the ms (the kernel's rusage).
    const command = options.cpu
      ? new Deno.Command("bash", {
        args: ["-c", '"$@"; rc=$?; times >&2; exit $rc', "bash", pgbenchPath(), ...args],
        env,
        cwd: dir,
        stdin: "null",
      })
      : new Deno.Command(pgbenchPath(), { args, env, cwd: dir, stdin: "null" });
    const out = await command.output();
    const stdout = new TextDecoder().decode(out.stdout);
    const stderr = new TextDecoder().decode(out.stderr);
    if (!out.success) throw new Error(`pgbench exited ${out.code}: ${(stderr || stdout).trim().slice(-500)}`);
    const m = /tps = ([\d.]+) \(without initial connection time\)/.exec(stdout);
    if (!m) throw new Error(`pgbench printed no tps:\n${stdout.slice(-500)}`);
    const run: PgbenchRun = { tps: Number(m[1]) };
    if (options.cpu) {
      const times = /(\d+)m([\d.]+)s (\d+)m([\d.]+)s\s*$/.exec(stderr);
      if (times) run.cpuSeconds = 60 * (Number(times[1]) + Number(times[3])) + Number(times[2]) + Number(times[4]);
    }
    if (options.log) {
      run.latencies = [];
      for await (const entry of Deno.readDir(dir)) {
        if (!entry.name.startsWith("log.")) continue;
        // "client_id transaction_no time script_no time_epoch time_us": time is the latency in µs.
        for (const line of (await Deno.readTextFile(`${dir}/${entry.name}`)).split("\n")) {
          const f = line.split(" ");
          if (f.length >= 3) run.latencies.push(Number(f[2]));
        }
      }
    }
    return run;
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/**
 * p50 and p99 of pgbench's per-transaction latencies.
 *
 * @example
 * ```ts
 * import { latencySummary } from "./pgbench.ts";
 * console.assert(latencySummary([1, 2, 3]).p50 === 2);
 * ```
 */
export function latencySummary(latencies: readonly number[]): { p50: number; p99: number } {
  return { p50: quantile(latencies, 0.5), p99: quantile(latencies, 0.99) };
}
