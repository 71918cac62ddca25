// A checkout used from outside the repository, as a user trying it before a release would: a Deno project of its
// own that lists the checkout under "links" imports it by package name and by file path, and the imports the
// checkout resolves through its deno.json (zod/mini...) resolve.
import assert from "node:assert/strict";

const ROOT = new URL("..", import.meta.url).pathname;

Deno.test("a project outside the repository links the checkout: import by name and by path", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dewey_links_" });
  try {
    await Deno.writeTextFile(`${dir}/deno.json`, JSON.stringify({ links: [ROOT] }));
    await Deno.writeTextFile(
      `${dir}/main.ts`,
      `import { parseConfig } from "@dewey/db";
import { parseConfig as byPath } from "${ROOT}mod.ts";
console.log(String(parseConfig("postgres://app:secret@db/shop", { env: {} })), byPath === parseConfig);
`,
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--quiet", "--no-lock", "main.ts"],
      cwd: dir,
      env: { NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" },
      stdin: "null",
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, text);
    assert.equal(text.trim(), "postgres://app:***@db:5432/shop true");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
