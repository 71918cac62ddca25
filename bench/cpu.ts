/**
 * CPU time read from `/proc` (Linux): a process's (every thread: the JS
 * thread, V8's GC helpers, the I/O threads) and a local PostgreSQL
 * cluster's (the postmaster, its live backends and the ones it has reaped).
 * Per statement, this is the number the ceiling scenario compares: on a
 * machine whose cores the client and the server share, CPU per statement
 * decides the throughput, and it varies far less with the machine's load
 * than the throughput does.
 *
 * @module
 */

import { drive } from "./stats.ts";

/** Clock ticks per second of `/proc/<pid>/stat` times (USER_HZ: 100 on every mainstream Linux build). */
const TICKS_PER_SECOND = 100;

/**
 * Whether `/proc` can be read here (Linux).
 *
 * @example
 * ```ts
 * import { cpuAvailable } from "./cpu.ts";
 * console.assert(typeof cpuAvailable() === "boolean");
 * ```
 */
export function cpuAvailable(): boolean {
  try {
    Deno.readTextFileSync("/proc/self/schedstat");
    return true;
  } catch {
    return false;
  }
}

/**
 * CPU time in ns of every thread of `pid` (default: this process), from each thread's `schedstat`
 * (ns, exact, unlike the 10 ms ticks of `stat`); 0 when the process is gone.
 *
 * @example
 * ```ts
 * import { cpuAvailable, processCpuNs } from "./cpu.ts";
 * if (cpuAvailable()) console.assert(processCpuNs() > 0);
 * ```
 */
export function processCpuNs(pid: number | "self" = "self"): number {
  let total = 0;
  try {
    for (const task of Deno.readDirSync(`/proc/${pid}/task`)) {
      total += threadNs(`/proc/${pid}/task/${task.name}/schedstat`);
    }
  } catch { /* exited */ }
  return total;
}

function threadNs(path: string): number {
  try {
    return Number(Deno.readTextFileSync(path).split(" ", 1)[0]) || 0;
  } catch {
    return 0; // exited between listing and reading
  }
}

/** `utime + stime + cutime + cstime` of `pid` in ns: its own CPU and that of the children it has reaped. */
function withReapedNs(pid: number): { own: number; reaped: number } {
  // The command name (field 2) may hold spaces: fields are counted after its closing parenthesis.
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ns = (i: number) => Number(f[i - 3]) * (1e9 / TICKS_PER_SECOND);
  return { own: ns(14) + ns(15), reaped: ns(16) + ns(17) };
}

/**
 * The CPU time of a PostgreSQL cluster: its postmaster, every live child (backends and background
 * workers, exact) and every child that already exited (summed by the kernel when the postmaster reaped
 * it, to the tick). Differences of two readings are right whether a backend lived through the window,
 * started in it, or ended in it (pgbench's do). Only meaningful when nothing else uses the cluster.
 *
 * @example
 * ```ts ignore
 * const before = clusterCpuNs(postmasterPid);
 * // ... load ...
 * const serverNs = clusterCpuNs(postmasterPid) - before;
 * ```
 */
export function clusterCpuNs(postmaster: number): number {
  const { reaped } = withReapedNs(postmaster);
  let live = processCpuNs(postmaster);
  let children: string[] = [];
  try {
    children = Deno.readTextFileSync(`/proc/${postmaster}/task/${postmaster}/children`).trim().split(" ");
  } catch { /* no children file: count the postmaster alone */ }
  for (const child of children) if (child) live += processCpuNs(Number(child));
  return live + reaped;
}

/**
 * The postmaster's pid of the cluster in `dataDir` (first line of `postmaster.pid`).
 *
 * @example
 * ```ts ignore
 * const pid = await postmasterPid(cluster.dataDir);
 * ```
 */
export async function postmasterPid(dataDir: string): Promise<number> {
  const pid = Number((await Deno.readTextFile(`${dataDir}/postmaster.pid`)).split("\n", 1)[0]);
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`no postmaster pid in ${dataDir}/postmaster.pid`);
  return pid;
}

/** What {@linkcode measureStatements} reports: statements per second and CPU µs per statement. */
export interface StatementCost {
  /** Statements per second. */
  perSecond: number;
  /** CPU of this process (every thread) per statement, µs. */
  clientUs: number;
  /** CPU of the cluster per statement, µs. */
  serverUs: number;
}

/**
 * Runs `op` `statements` times from `callers` concurrent callers after a warm-up of half as many (JIT, prepared
 * statements, pools at full size), reading this process's and the cluster's CPU around the measured part.
 *
 * @example
 * ```ts ignore
 * console.log(JSON.stringify(await measureStatements(() => db.sql`SELECT 1`, 40_000, 64, postmaster)));
 * ```
 */
export async function measureStatements(
  op: (i: number) => Promise<unknown>,
  statements: number,
  callers: number,
  postmaster: number,
): Promise<StatementCost> {
  await drive(callers, Math.max(2000, statements >> 1), op);
  const client0 = processCpuNs();
  const server0 = clusterCpuNs(postmaster);
  const ms = await drive(callers, statements, op);
  const clientNs = processCpuNs() - client0;
  const serverNs = clusterCpuNs(postmaster) - server0;
  return {
    perSecond: statements / ms * 1000,
    clientUs: clientNs / statements / 1000,
    serverUs: serverNs / statements / 1000,
  };
}
