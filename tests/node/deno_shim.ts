/**
 * The part of the `Deno` namespace our test files use, on top of `node:test`,
 * so the same test files (the conformance suite first) run under Node against
 * the npm build. `tests/node_test.ts` injects it into the bundled tests in
 * place of the global `Deno`; the library itself never sees it.
 *
 * Only what the bundled files use is here: a missing member fails the bundle
 * at run time with a TypeError naming it, never silently.
 *
 * @module
 */

import process from "node:process";
import { test as nodeTest, type TestContext as NodeTestContext } from "node:test";

type TestFn = (t: TestContext) => void | Promise<void>;

/** `Deno.TestDefinition`, the members the shim honours. */
interface TestDefinition {
  name: string;
  fn: TestFn;
  ignore?: boolean;
  only?: boolean;
}

/** `Deno.TestContext`: a name and steps (Node subtests). */
export interface TestContext {
  /** The test's or step's name. */
  name: string;
  /** Runs a step; resolves true when it passed, as Deno's does. */
  step(nameOrDef: string | TestDefinition, fn?: TestFn): Promise<boolean>;
}

function context(t: NodeTestContext): TestContext {
  return {
    name: t.name,
    async step(nameOrDef, fn) {
      const def = typeof nameOrDef === "string" ? { name: nameOrDef, fn: fn! } : nameOrDef;
      await t.test(def.name, { skip: def.ignore ?? false }, (sub) => def.fn(context(sub)));
      return true;
    },
  };
}

function normalise(a: string | TestDefinition | TestFn, b?: TestFn | Omit<TestDefinition, "name">, c?: TestFn) {
  if (typeof a === "function") return { name: a.name, fn: a };
  if (typeof a === "object") return a;
  if (typeof b === "function") return { name: a, fn: b };
  return { ...b, name: a, fn: c! };
}

/** The shim, injected as `Deno`. */
export const Deno = {
  pid: process.pid,
  env: {
    get: (name: string): string | undefined => process.env[name],
    toObject: (): Record<string, string> => ({ ...process.env }) as Record<string, string>,
  },
  test(
    a: string | TestDefinition | TestFn,
    b?: TestFn | Omit<TestDefinition, "name">,
    c?: TestFn,
  ): void {
    const def = normalise(a, b, c);
    nodeTest(def.name, { skip: def.ignore ?? false, only: def.only ?? false }, (t) => def.fn(context(t)));
  },
};
