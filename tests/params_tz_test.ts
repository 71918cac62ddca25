// The conformance suite's parameter table again, on every adapter, in processes whose local time is not UTC: a
// Date written to a `timestamp` and read back must not move by the offset, whatever TZ says.
import assert from "node:assert/strict";

const ROOT = new URL("..", import.meta.url).pathname;
const ZONES = { "America/New_York": 300, "Asia/Kolkata": -330 }; // minutes behind UTC on 2024-01-01

async function run(args: string[], tz: string): Promise<{ code: number; out: string }> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    env: { TZ: tz, NO_COLOR: "1" },
    stdin: "null",
  }).output();
  return { code, out: new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr) };
}

Deno.test("parameter table under TZ=America/New_York and TZ=Asia/Kolkata, on postgres.js, Neon and PGlite", async () => {
  await Promise.all(
    Object.entries(ZONES).map(async ([tz, offset]) => {
      const local = await run(["eval", "console.log(new Date(2024, 0, 1).getTimezoneOffset())"], tz);
      assert.equal(local.out.trim(), String(offset), `the child process runs in ${tz}`);
      const files = ["postgres", "neon", "pglite"].map((a) => `tests/conformance_${a}_test.ts`);
      files.push("tests/postgres_unnamed_test.ts"); // postgres.js again, with every statement unnamed, both ways
      const { code, out } = await run(["test", "-A", "--no-check", "--filter", "parameter table", ...files], tz);
      assert.equal(code, 0, `TZ=${tz}:\n${out}`);
      assert.match(out, /ok \| 5 passed \| 0 failed/, `TZ=${tz}: the three adapters ran the table\n${out}`);
    }),
  );
});
