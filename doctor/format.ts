/**
 * The doctor's report as text for a terminal.
 *
 * @module
 */

import { redactText } from "../src/redact.ts";
import type { DoctorReport, Finding, Step } from "./types.ts";

const MARK: Record<Step["status"] | Finding["level"], string> = {
  ok: "✓",
  fail: "✗",
  skip: "-",
  info: "i",
  warn: "!",
};

/**
 * Renders `report`: the configuration with each value's source, each host's
 * steps (cause and fix under a failed one), the pool checks, the warnings and
 * a one-line verdict. Never contains a secret.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatReport } from "./format.ts";
 * const text = formatReport({
 *   target: "postgres://db:1/app", ok: false, exitCode: 1, pool: [], warnings: [], summary: "unhealthy: tcp failed",
 *   hosts: [{ host: "db", port: 1, ok: false, steps: [{ name: "tcp", status: "fail", detail: "refused", fix: "start it" }] }],
 * });
 * assert(text.includes("✗ tcp") && text.includes("fix:   start it"));
 * ```
 */
export function formatReport(report: DoctorReport): string {
  const out: string[] = [`@dewey/db doctor: ${report.target}`];
  if (report.configIssues) {
    out.push("", "Configuration: invalid");
    for (const i of report.configIssues) out.push(`  ✗ ${i.path}: ${i.message}${i.source ? ` (${i.source})` : ""}`);
  }
  if (report.config) {
    const set = report.config.filter((e) => !e.source.startsWith("default"));
    const defaults = report.config.filter((e) => e.source.startsWith("default"));
    const width = Math.max(4, ...set.map((e) => e.key.length)) + 2;
    const valueWidth = Math.min(40, Math.max(6, ...set.map((e) => e.value.length))) + 2;
    out.push("", "Configuration (secrets masked)");
    for (const e of set) out.push(`  ${e.key.padEnd(width)}${e.value.padEnd(valueWidth)}${e.source}`);
    if (defaults.length) out.push(...wrap(`defaults: ${defaults.map((e) => `${e.key}=${e.value}`).join(", ")}`, 2));
  }
  for (const host of report.hosts) {
    out.push("", `${host.host}${host.host.startsWith("pglite") ? "" : `:${host.port}`}`);
    for (const step of host.steps) {
      const time = step.ms === undefined || step.status !== "ok" ? "" : ` (${formatMs(step.ms)})`;
      out.push(...wrap(`${MARK[step.status]} ${step.name.padEnd(8)} ${step.detail}${time}`, 2, 11));
      if (step.cause) out.push(...wrap(`cause: ${step.cause}`, 6, 7));
      if (step.fix) out.push(...wrap(`fix:   ${step.fix}`, 6, 7));
    }
  }
  if (report.pool.length) {
    out.push("", "Pool and server limits");
    for (const f of report.pool) out.push(...finding(f));
  }
  if (report.warnings.length) {
    out.push("", "Configuration checks");
    for (const f of report.warnings) out.push(...finding(f));
  }
  out.push("", report.summary);
  return redactText(out.join("\n"));
}

/**
 * Milliseconds for people: `0.21 ms`, `12 ms`, `3.4 s`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatMs } from "./format.ts";
 * assert(formatMs(0.214) === "0.21 ms" && formatMs(12.4) === "12 ms" && formatMs(3400) === "3.4 s");
 * ```
 */
export function formatMs(ms: number): string {
  if (ms >= 1000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms >= 10) return `${Math.round(ms)} ms`;
  return `${ms.toFixed(2)} ms`;
}

function finding(f: Finding): string[] {
  const lines = wrap(`${MARK[f.level]} ${f.message}`, 2);
  if (f.fix) lines.push(...wrap(`fix: ${f.fix}`, 6, 5));
  return lines;
}

/** Wraps at 110 columns, continuation lines indented `hang` more. */
function wrap(text: string, indent: number, hang = 2): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line && indent + line.length + 1 + word.length > 110) {
      lines.push(line);
      line = `${" ".repeat(hang)}${word}`;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines.map((l) => " ".repeat(indent) + l);
}
