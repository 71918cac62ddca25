/**
 * Runs a bench child script in a new Deno process and times it until it
 * prints a marker line.
 *
 * @module
 */

const root = new URL("../", import.meta.url);
/** Children import the bench's tools (pg...): the development config, unless a scenario passes its own `--config`. */
const DEV_CONFIG = `--config=${new URL("deno.dev.json", root).pathname}`;

/** What a child run measured. */
export interface ChildRun {
  /** ms from spawn to the marker line. */
  toMarker: number;
  /** Everything the child printed on stdout. */
  stdout: string;
}

/**
 * Spawns `deno run -A bench/children/<script> ...args`, resolves when it
 * exits, with the time from spawn to the first line equal to `marker`.
 *
 * @example
 * ```ts ignore
 * const { toMarker } = await runChild("cold_raw.ts", [url.href], "ROW");
 * ```
 */
export function runChild(
  script: string,
  args: string[],
  marker?: string,
  denoFlags: string[] = [],
): Promise<ChildRun> {
  const path = new URL(`bench/children/${script}`, root).pathname;
  const config = denoFlags.some((f) => f.startsWith("--config")) ? [] : [DEV_CONFIG];
  return timeToMarker(Deno.execPath(), ["run", "-A", "--quiet", ...config, ...denoFlags, path, ...args], {
    cwd: root.pathname,
    env: { DENO_NO_UPDATE_CHECK: "1" },
    marker,
  });
}

/**
 * Spawns any program (Node, for the Node children), resolves when it exits,
 * with the time from spawn to the first line equal to `marker` (or to the
 * exit, without one). Throws when it fails or never prints the marker.
 *
 * @example
 * ```ts ignore
 * const { toMarker } = await timeToMarker("node", ["cold.mjs", url.href], { cwd: dir, marker: "ROW" });
 * ```
 */
export async function timeToMarker(
  program: string,
  args: string[],
  options: { cwd: string; env?: Record<string, string>; marker?: string },
): Promise<ChildRun> {
  const { marker } = options;
  const t0 = performance.now();
  const child = new Deno.Command(program, {
    args,
    cwd: options.cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: options.env,
  }).spawn();
  let toMarker = NaN;
  let stdout = "";
  const decoder = new TextDecoder();
  const stderr = new Response(child.stderr).text();
  for await (const chunk of child.stdout) {
    const at = performance.now();
    stdout += decoder.decode(chunk, { stream: true });
    if (marker !== undefined && Number.isNaN(toMarker) && stdout.split("\n").slice(0, -1).includes(marker)) {
      toMarker = at - t0;
    }
  }
  const status = await child.status;
  const err = await stderr;
  const name = args.find((a) => /\.m?[jt]s$/.test(a))?.split("/").pop() ?? program;
  if (!status.success) throw new Error(`${name} exited ${status.code}: ${err.trim().slice(-800)}`);
  if (marker === undefined) toMarker = performance.now() - t0;
  if (Number.isNaN(toMarker)) throw new Error(`${name} never printed ${marker}: ${stdout.slice(-300)}`);
  return { toMarker, stdout };
}
