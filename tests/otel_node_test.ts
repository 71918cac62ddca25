// The OpenTelemetry integration on Node: tests/fixtures/otel_node.ts bundled with esbuild (as an application's
// bundler would) and run by `node`, against the local PostgreSQL.
import assert from "node:assert/strict";
import * as esbuild from "esbuild";
import { TEST_URL } from "./helpers/db.ts";

Deno.test("otel on Node: spans nest through AsyncLocalStorage, sessions and savepoints, metrics", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await esbuild.build({
      entryPoints: [new URL("./fixtures/otel_node.ts", import.meta.url).pathname],
      absWorkingDir: new URL("..", import.meta.url).pathname,
      outfile: `${dir}/otel_node.mjs`,
      bundle: true,
      format: "esm",
      platform: "node",
      target: "node20",
      // Packages that require() Node built-ins inside an ES module bundle.
      banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
      logLevel: "silent",
    });
    const out = await new Deno.Command("node", {
      args: [`${dir}/otel_node.mjs`],
      env: { DATABASE_URL: TEST_URL },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, text);
    assert.match(text, /^ok on Node v\d+/m);
  } finally {
    await esbuild.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
