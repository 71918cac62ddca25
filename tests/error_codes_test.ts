// ERROR_CODES lists every code the library throws: the sources are searched for code literals, each must be
// listed, and each code listed as the library's own must be thrown somewhere. The doctor advises on every one.
import assert from "node:assert/strict";
import { advise } from "../doctor/advice.ts";
import { ERROR_CODES as FROM_EDGE } from "../edge.ts";
import { ERROR_CODES, type ErrorCode } from "../mod.ts";
import { parseConfig } from "../src/config/parse.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const SOURCES = ["src", "adapters", "doctor"];

/** Where a code is set: `code: "X"`, `networkError(..., "X", ...)`, `"X" satisfies ErrorCode`, `tlsError("X"`, `fail("X"`. */
const THROWN = [
  /\bcode: "([A-Z][A-Z0-9_]+)"/g,
  /\bnetworkError\([^;]*?, "([A-Z][A-Z0-9_]+)"/g,
  /"([A-Z][A-Z0-9_]+)" satisfies ErrorCode\b/g,
  /\b(?:tlsError|fail)\(\s*"([A-Z][A-Z0-9_]+)"/g,
];

/** A server's SQLSTATE (`57P01`, `25P02`): not ours to list. */
const isSqlState = (code: string) => /^[0-9A-Z]{5}$/.test(code) && /\d/.test(code);

async function* files(dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(`${ROOT}${dir}`)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) yield* files(path);
    else if (path.endsWith(".ts")) yield path;
  }
}

/** Every code literal set in the library's sources, with where. */
async function thrownCodes(): Promise<Map<string, string[]>> {
  const found = new Map<string, string[]>();
  const paths = ["mod.ts", "edge.ts"];
  for (const dir of SOURCES) for await (const path of files(dir)) paths.push(path);
  for (const path of paths) {
    const text = await Deno.readTextFile(`${ROOT}${path}`);
    for (const pattern of THROWN) {
      for (const match of text.matchAll(pattern)) {
        const code = match[1];
        if (isSqlState(code)) continue;
        const line = text.slice(0, match.index).split("\n").length;
        found.set(code, [...found.get(code) ?? [], `${path}:${line}`]);
      }
    }
  }
  return found;
}

Deno.test("ERROR_CODES: every code thrown in src/, adapters/ and doctor/ is listed, with a meaning", async () => {
  const found = await thrownCodes();
  assert.ok(found.has("CONNECT_TIMEOUT") && found.has("SSL_CERT_UNTRUSTED"), "the search finds nothing");
  const missing = [...found].filter(([code]) => !Object.hasOwn(ERROR_CODES, code));
  assert.deepEqual(missing, [], "thrown but not in ERROR_CODES (src/error_codes.ts)");
  // A code the library raises itself (not one passed through) that nothing throws any more is stale.
  const own = Object.entries(ERROR_CODES).filter(([, meaning]) => !meaning.includes("passed through"));
  const stale = own.filter(([code]) => !found.has(code)).map(([code]) => code);
  assert.deepEqual(stale, [], "listed as the library's own, but never thrown");
  for (const [code, meaning] of Object.entries(ERROR_CODES)) {
    assert.match(code, /^[A-Z][A-Z0-9_]+$/);
    assert.ok(meaning.length > 10 && !meaning.includes("\n"), `${code}: a one-line meaning`);
  }
});

Deno.test("ERROR_CODES: frozen, and the same object from both entry points", () => {
  assert.ok(Object.isFrozen(ERROR_CODES));
  assert.equal(FROM_EDGE, ERROR_CODES);
  assert.throws(() => {
    (ERROR_CODES as Record<string, string>).CONNECT_TIMEOUT = "changed";
  }, TypeError);
});

Deno.test("doctor: a cause and a fix of its own for every code in ERROR_CODES, at every step", () => {
  const config = parseConfig("postgres://app@db.example.com/app?sslmode=verify-full&sslrootcert=system", {
    env: {},
  });
  const generic = "see the server log for details";
  for (const code of Object.keys(ERROR_CODES) as ErrorCode[]) {
    for (const step of ["tcp", "tls", "auth"] as const) {
      const message = `opaque failure ${code}`;
      const { cause, fix } = advise({ step, code, message, host: "db.example.com", port: 5432 }, config);
      assert.ok(fix !== generic && fix.length > 10, `${code} at ${step}: no fix of its own`);
      assert.ok(cause.length > 10 && cause !== message, `${code} at ${step}: no cause of its own`);
    }
  }
});
