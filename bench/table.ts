/**
 * The human-readable report: one block per scenario (contenders, medians,
 * range over rounds, ratio to the reference, PASS/MISS per target), then a
 * summary of every target.
 *
 * @module
 */

import type { ScenarioResult } from "./types.ts";

/** Facts about the run printed above the table. */
export interface RunMeta {
  /** ISO time the run started. */
  started: string;
  /** `quick` or `full`. */
  mode: string;
  /** The database, password hidden. */
  database: string;
  /** `SHOW server_version`. */
  server: string;
  /** Deno, V8 and TypeScript versions. */
  deno: string;
  /** OS and architecture. */
  os: string;
  /** CPU model and count. */
  cpu: string;
  /** Load averages at the start. */
  load: string;
  /** Wall time of the whole run, seconds. */
  wallSeconds?: number;
}

/**
 * Formats a number compactly: `31.0k`, `2.14M`, `79.9`, `512`.
 *
 * @example
 * ```ts
 * import { num } from "./table.ts";
 * console.assert(num(31_012) === "31.0k" && num(2_140_000) === "2.14M" && num(79.94) === "79.9");
 * ```
 */
export function num(v: number): string {
  if (!Number.isFinite(v)) return "–";
  const a = Math.abs(v);
  if (a >= 1e6) return (v / 1e6).toFixed(2) + "M";
  if (a >= 1e4) return (v / 1e3).toFixed(1) + "k";
  if (a >= 100) return v.toFixed(0);
  return v.toFixed(1);
}

const verdict = (meta: RunMeta, pass: boolean) => meta.mode === "quick" ? "----" : pass ? "PASS" : "MISS";
const pad = (s: string, n: number) => s.length >= n ? s : s + " ".repeat(n - s.length);
const lpad = (s: string, n: number) => s.length >= n ? s : " ".repeat(n - s.length) + s;

/**
 * Renders the report.
 *
 * @example
 * ```ts ignore
 * console.log(renderTable(meta, results));
 * ```
 */
export function renderTable(meta: RunMeta, results: readonly ScenarioResult[]): string {
  const out: string[] = [];
  out.push(`@dewey/db bench · ${meta.started} · ${meta.mode} run · ${meta.database} (PostgreSQL ${meta.server})`);
  out.push(`${meta.deno} · ${meta.os} · ${meta.cpu} · load ${meta.load}`);
  out.push("Ratios are per round against the reference (ref), median over rounds; judge ratios, not absolute numbers.");
  for (const r of results) {
    out.push("");
    const wall = r.wallMs === undefined ? "" : `, ${(r.wallMs / 1000).toFixed(1)} s`;
    out.push(`${r.title}  [${r.unit}, ${r.better} is better, ${r.rounds} rounds${wall}]`);
    if (r.error) {
      out.push(`  ERROR  ${r.error}`);
      continue;
    }
    const width = Math.max(24, ...r.contenders.map((c) => c.name.length + 2));
    if (r.contenders.length) {
      out.push(
        "  " + pad("contender", width) + lpad("median", 9) + lpad("min", 9) + lpad("max", 9) + lpad("ratio", 9) +
          "  other",
      );
    }
    for (const c of r.contenders) {
      const ref = c.name === r.reference ? " ref" : "";
      const ratio = c.ratio === undefined ? "" : c.ratio.toFixed(2) + "×";
      const extra = Object.entries(c.extra ?? {}).map(([k, v]) => `${k} ${num(v)}`).join(", ");
      out.push(
        "  " + pad(c.name, width) + lpad(num(c.median), 9) + lpad(num(c.min), 9) + lpad(num(c.max), 9) +
          lpad(ratio, 9) + (ref || extra ? "  " : "") + [ref.trim(), extra].filter(Boolean).join(" · "),
      );
    }
    for (const t of r.targets) out.push(`  ${verdict(meta, t.pass)}  ${t.label}: ${t.shown}`);
    for (const n of r.notes) out.push(`  · ${n}`);
  }
  const targets = results.flatMap((r) => r.targets.map((t) => ({ scenario: r.id, ...t })));
  const missed = targets.filter((t) => !t.pass).length;
  const errors = results.filter((r) => r.error).length;
  out.push("");
  const tally = meta.mode === "quick"
    ? `${targets.length} not judged (quick run: counts too small to mean anything)`
    : `${targets.length - missed} PASS, ${missed} MISS`;
  out.push(
    `Targets: ${tally}${errors ? `; ${errors} scenario(s) failed` : ""}` +
      (meta.wallSeconds === undefined ? "" : ` · whole run ${meta.wallSeconds.toFixed(0)} s`),
  );
  for (const t of targets) out.push(`  ${verdict(meta, t.pass)}  ${pad(t.scenario, 12)} ${t.label}: ${t.shown}`);
  return out.join("\n");
}
