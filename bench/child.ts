/**
 * Runs a bench child script in a new Deno process and times it until it
 * prints a marker line.
 *
 * @module
 */

const root = new URL("../", import.meta.url);

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
export async function runChild(
  script: string,
  args: string[],
  marker?: string,
  denoFlags: string[] = [],
): Promise<ChildRun> {
  const path = new URL(`bench/children/${script}`, root).pathname;
  const t0 = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", ...denoFlags, path, ...args],
    cwd: root.pathname,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { DENO_NO_UPDATE_CHECK: "1" },
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
  if (!status.success) throw new Error(`${script} exited ${status.code}: ${err.trim().slice(-800)}`);
  if (marker === undefined) toMarker = performance.now() - t0;
  if (Number.isNaN(toMarker)) throw new Error(`${script} never printed ${marker}: ${stdout.slice(-300)}`);
  return { toMarker, stdout };
}
