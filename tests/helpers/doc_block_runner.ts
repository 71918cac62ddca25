/**
 * Runs one documentation example (`deno run -A doc_block_runner.ts <file>`)
 * as `tests/docs_test.ts` needs: the module runs on import; when it exports
 * a `fetch` handler (`deno serve`, Deno Deploy, Workers), it is called for
 * `/` and `/healthz` with an `env` holding `DATABASE_URL` and a `ctx` whose
 * `waitUntil` promises are awaited, and each answer must be 200.
 *
 * @module
 */

import { pathToFileURL } from "node:url";

type Handler = { fetch(req: Request, env: Record<string, unknown>, ctx: unknown): Response | Promise<Response> };

const [file] = Deno.args;
const mod = await import(pathToFileURL(file).href);
const handler = (mod as { default?: Partial<Handler> }).default;
if (typeof handler?.fetch === "function") {
  const waits: Promise<unknown>[] = [];
  const env = { DATABASE_URL: Deno.env.get("DATABASE_URL") };
  const ctx = { waitUntil: (p: Promise<unknown>) => void waits.push(p), passThroughOnException() {} };
  for (const path of ["/", "/healthz"]) {
    const res = await handler.fetch(new Request(`http://localhost${path}`), env, ctx);
    const body = await res.text();
    if (res.status !== 200) throw new Error(`GET ${path} answered ${res.status}: ${body}`);
  }
  await Promise.all(waits);
}
// A module-level pool (the `deno serve` and Deno Deploy pattern) stays open by design: end the process here.
Deno.exit(0);
