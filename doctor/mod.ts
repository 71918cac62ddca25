/**
 * `doctor`: why can't my application reach the database?
 *
 * Loads and validates a configuration (a YAML file, a URL, or what
 * `loadConfig()` finds), prints it with secrets masked and where each value
 * came from, then connects step by step (DNS, TCP, TLS with protocol and
 * certificate, authentication, server version, round trip), stopping at the
 * first failing step with its likely cause and a fix. Checks `pool_max`
 * against the server's connection limits and warns about risky settings.
 *
 * Exit code: 0 healthy (warnings allowed), 1 a step failed, 2 the
 * configuration is invalid or the arguments are wrong.
 *
 * ```sh
 * deno task doctor                               # DATABASE_URL / $DEWEY_CONFIG / config/dewey.yaml
 * deno task doctor config/production.yaml
 * deno task doctor postgres://app@db.example.com/app --json
 * deno run -A jsr:@dewey/db/doctor
 * ```
 *
 * @example From code
 * ```ts ignore
 * import { formatReport, runDoctor } from "jsr:@dewey/db/doctor";
 * const report = await runDoctor("config/dewey.yaml");
 * if (!report.ok) console.error(formatReport(report));
 * ```
 *
 * @module
 */

import { formatReport } from "./format.ts";
import { type DoctorOptions, runDoctor } from "./run.ts";

export { formatReport, runDoctor };
export type { DoctorOptions };
export type { ConfigEntry, DoctorReport, Finding, HostReport, ServerFacts, Step, StepName } from "./types.ts";

const USAGE = `usage: deno task doctor [config.yaml | postgres://... | pglite://...] [--json]

Checks a @dewey/db configuration and the connection it describes, step by step.
Without an argument: DATABASE_URL, $DEWEY_CONFIG or config/dewey.yaml, with PG* variables.
Exit code: 0 healthy, 1 a connection step failed, 2 invalid configuration or arguments.`;

/**
 * Runs the command with `args`; returns the exit code. Prints the report
 * (or, with `--json`, the report as JSON) on stdout.
 *
 * @example
 * ```ts ignore
 * import { main } from "jsr:@dewey/db/doctor";
 * Deno.exit(await main(["postgres://127.0.0.1:5432/test", "--json"]));
 * ```
 */
export async function main(args: readonly string[]): Promise<number> {
  const json = args.includes("--json");
  const rest = args.filter((a) => a !== "--json");
  if (rest.includes("--help") || rest.includes("-h")) {
    console.log(USAGE);
    return 0;
  }
  if (rest.length > 1 || rest.some((a) => a.startsWith("-"))) {
    console.error(USAGE);
    return 2;
  }
  const report = await runDoctor(rest[0]);
  console.log(json ? JSON.stringify(report, null, 2) : formatReport(report));
  return report.exitCode;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
