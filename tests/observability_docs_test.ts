// The TypeScript examples of docs/observability.md run as a reader would copy them (blocks marked `ignore` need a
// Node SDK or a Worker and are not run), with the package's specifiers mapped to this tree.
import assert from "node:assert/strict";
import { TEST_URL } from "./helpers/db.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const doc = await Deno.readTextFile(`${ROOT}docs/observability.md`);
const blocks = [...doc.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1]);
const specifiers: Record<string, string> = {
  "jsr:@dewey/db": "mod.ts",
  "jsr:@dewey/db/otel": "integrations/otel.ts",
  "jsr:@dewey/db/prometheus": "integrations/prometheus.ts",
};

Deno.test("docs/observability.md: the runnable examples run", async () => {
  assert.equal(blocks.length, 2, "the Deno setup and the Prometheus endpoint");
  for (const block of blocks) {
    const code = block.replace(/"(jsr:@dewey\/db[^"]*)"/g, (_, s: string) => JSON.stringify(ROOT + specifiers[s]));
    const file = await Deno.makeTempFile({ suffix: ".ts" });
    try {
      await Deno.writeTextFile(file, code);
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "--config", `${ROOT}deno.json`, file],
        env: { DATABASE_URL: TEST_URL, DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" },
      }).output();
      const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
      assert.equal(out.code, 0, text);
      assert.match(text, /one: 1|db_client_connection_count\{/);
    } finally {
      await Deno.remove(file);
    }
  }
});
