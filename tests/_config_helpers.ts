/** Shared helpers of the config tests. */

import assert from "node:assert/strict";
import { loadConfig } from "../mod.ts";
import { ConfigError, type ConfigIssue } from "../src/errors.ts";
import type { DatabaseConfig } from "../src/config/types.ts";

/** The distinctive password the tests use; every test gets its own variant. */
export const PASSWORD_STEM = "S3cret-Pw!";
let counter = 0;

/** A fresh password, so one test's redaction never hides another test's leak. */
export function password(): string {
  return `${PASSWORD_STEM}${++counter}`;
}

/** Asserts nothing printable about `value` holds the test password. */
export function assertNoSecret(value: unknown): void {
  const texts = [String(value), Deno.inspect(value, { depth: 10 })];
  if (value instanceof Error) texts.push(value.message, value.stack ?? "");
  else texts.push(JSON.stringify(value) ?? "");
  for (const text of texts) assert.ok(!text.includes("S3cret-Pw"), `secret leaked in: ${text}`);
}

/** Expected issue: `path` exactly, `source` and `message` when given. */
export interface ExpectedIssue {
  path: string;
  source?: string;
  message?: RegExp;
}

/** Asserts `error` is a ConfigError holding `expected` issues, and leaks no secret. */
export function assertConfigError(error: unknown, ...expected: ExpectedIssue[]): ConfigError {
  assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${Deno.inspect(error)}`);
  assertNoSecret(error);
  for (const want of expected) {
    const issue: ConfigIssue | undefined = error.issues.find((i: ConfigIssue) =>
      i.path === want.path && (want.message === undefined || want.message.test(i.message))
    );
    assert.ok(issue, `no issue at ${want.path} matching ${want.message}; got:\n${error.message}`);
    if (want.source !== undefined) assert.equal(issue.source, want.source);
    assert.ok(error.message.includes(want.path), "the message lists the path");
  }
  return error;
}

/** Runs `fn`, which must throw a ConfigError with `expected` issues. */
export function throwsConfigError(fn: () => unknown, ...expected: ExpectedIssue[]): ConfigError {
  try {
    fn();
  } catch (e) {
    return assertConfigError(e, ...expected);
  }
  assert.fail("expected a ConfigError");
}

/** Awaits `promise`, which must reject with a ConfigError with `expected` issues. */
export async function rejectsConfigError(
  promise: Promise<unknown>,
  ...expected: ExpectedIssue[]
): Promise<ConfigError> {
  try {
    await promise;
  } catch (e) {
    return assertConfigError(e, ...expected);
  }
  assert.fail("expected a ConfigError");
}

/** Asserts the config's printouts hide the password and the config is frozen. */
export function assertSafeConfig(config: DatabaseConfig): void {
  assertNoSecret(config);
  assert.ok(Object.isFrozen(config) && Object.isFrozen(config.hosts) && Object.isFrozen(config.sources));
}

/** Writes `files` into a fresh temporary directory; returns it and a cleanup. */
export async function tempFiles(files: Record<string, string>): Promise<{ dir: string } & AsyncDisposable> {
  const dir = await Deno.makeTempDir({ prefix: "dewey-config-" });
  for (const [name, text] of Object.entries(files)) await Deno.writeTextFile(`${dir}/${name}`, text);
  return { dir, [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }) };
}

/** Loads `text` as a YAML config file, which must fail; returns the error and the file's path. */
export async function loadYaml(
  text: string,
  env: Record<string, string> = {},
): Promise<{ error: unknown; file: string }> {
  await using tmp = await tempFiles({ "dewey.yaml": text });
  const file = `${tmp.dir}/dewey.yaml`;
  try {
    await loadConfig(file, { env });
  } catch (e) {
    return { error: e, file };
  }
  assert.fail("expected a ConfigError");
}
