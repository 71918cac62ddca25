// The npm build under Node. `scripts/build_npm.ts` builds the package, npm packs it and installs the tarball into
// scratch Node projects (CommonJS by default, as `npm init` makes them); then on Node 20 and on Node 22 (npm's
// node@22 package): the conformance suite on postgres.js and PGlite (the very test files Deno runs, bundled with
// tests/node/deno_shim.ts in place of `Deno`), TLS verify-full, a reconnection, a Unix socket, the password and
// service files (tests/node/*_node.ts), the
// README's tour under tsx, a TypeScript file under tsx in the CommonJS project, and an esbuild bundle of it. The
// project the tour, tsx and esbuild see has no optional peer installed (no PGlite, no Neon driver).
import assert from "node:assert/strict";
import { relative, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import * as esbuild from "esbuild";
import { moduleGraph } from "../scripts/build_npm.ts";
import { readPackageInfo } from "../scripts/package_info.ts";
import { makeCerts } from "./helpers/certs.ts";
import { type Cluster, startCluster } from "./helpers/cluster.ts";
import { TEST_URL } from "./helpers/db.ts";
import { cachedProject, nodeTools, npm, npmBuild, type Run, run, runNode } from "./helpers/node.ts";

const ROOT = new URL("../", import.meta.url).pathname;
/** Deno test files that run unchanged under Node. */
const DENO_TESTS = ["tests/conformance_postgres_test.ts", "tests/conformance_pglite_test.ts"];
/** Node-only test files (`node:test`). */
const NODE_TESTS = ["tests/node/tls_node.ts", "tests/node/reconnect_node.ts", "tests/node/libpq_node.ts"];
/** The password of the SCRAM role the socket, password-file and service-file cases log in as. */
const SCRAM_PASSWORD = "S3cret-Pw!node";
/** What the npm package may hold beside the modules and their declarations. */
const PACKAGE_EXTRAS = ["LICENSE", "README.md", "package.json"];

/** A TypeScript file as a Node user writes one: no top-level await, so it also runs as CommonJS. */
const APP = `import { DatabaseConnectionError, getConnection } from "@dewey/db";

async function main(): Promise<void> {
  const db = await getConnection(process.env.DATABASE_URL!, { logger: false });
  try {
    const [row] = await db.sql\`SELECT 41 + \${1}::int AS answer\`;
    const inSession = await db.getSession(async (s) => (await s.query("SELECT 2 AS two")).rows[0].two);
    const pglite = await getConnection("pglite://memory").then(() => "opened", (e: Error) => e.message);
    const commonjs = typeof require === "function" && typeof module === "object";
    console.log(JSON.stringify({ answer: row.answer, inSession, commonjs, pglite }));
  } catch (error) {
    console.log(error instanceof DatabaseConnectionError ? \`\${error.code}: \${error.message}\` : error);
    process.exitCode = 1;
  } finally {
    await db.close();
  }
}
main();
`;

/** The README's "A tour" block, importing the installed package instead of JSR. */
async function readmeTour(): Promise<string> {
  const readme = await Deno.readTextFile(`${ROOT}README.md`);
  const block = /^## A tour\n[\s\S]*?^```ts\n([\s\S]*?)^```/m.exec(readme)?.[1];
  assert.ok(block, "README.md has a ts block under ## A tour");
  assert.match(block, /from "jsr:@dewey\/db"/);
  return block.replaceAll('"jsr:@dewey/db"', '"@dewey/db"');
}

/**
 * Bundles test files for Node: the test code goes in, the library stays out. A module of the package becomes an
 * import of the installed copy (an entry by its export specifier, any other module by its path in node_modules,
 * which is the same module instance the entries load), so `instanceof` on its errors holds.
 */
async function bundleTests(files: string[], outdir: string, project: string): Promise<void> {
  const info = await readPackageInfo();
  const published = new Set((await moduleGraph(info.root, Object.values(info.exports))).files);
  const entryOf = new Map(
    Object.entries(info.exports).map(([sub, file]) => [file.replace(/^\.\//, ""), `${info.name}${sub.slice(1)}`]),
  );
  const installed = `${project}/node_modules/${info.name}/`;
  const library: esbuild.Plugin = {
    name: "installed-package",
    setup(build) {
      build.onResolve({ filter: /^[^.]/ }, (args) => args.kind === "entry-point" ? undefined : { external: true });
      build.onResolve({ filter: /^\./ }, (args) => {
        const file = relative(ROOT, resolve(args.resolveDir, args.path));
        if (!published.has(file)) return undefined;
        const path = entryOf.get(file) ?? pathToFileURL(installed + file.replace(/\.ts$/, ".js")).href;
        return { path, external: true };
      });
    },
  };
  try {
    await esbuild.build({
      entryPoints: files.map((f) => `${ROOT}${f}`),
      outdir,
      outbase: ROOT,
      outExtension: { ".js": ".mjs" },
      bundle: true,
      format: "esm",
      platform: "node",
      target: "node20",
      inject: [`${ROOT}tests/node/deno_shim.ts`],
      plugins: [library],
      logLevel: "silent",
    });
  } finally {
    await esbuild.stop();
  }
}

/** `# pass 12`-style counters of a TAP report. */
function tapCounts(tap: string): Record<string, number> {
  return Object.fromEntries([...tap.matchAll(/^# (tests|pass|fail|cancelled|skipped|todo) (\d+)$/gm)].map((m) => [
    m[1],
    Number(m[2]),
  ]));
}

const show = (label: string, r: Run) =>
  `${label} exited ${r.code}\n--- stdout\n${r.stdout.slice(-6000)}\n--- stderr\n${r.stderr.slice(-3000)}`;

Deno.test("npm build on Node 20 and Node 22: conformance, TLS, reconnection, README tour, tsx, esbuild", async (t) => {
  await using certs = await makeCerts();
  let pg: Cluster | undefined;
  const runDirs: string[] = [];
  // Files of this run go in a directory of its own inside the (cached) project, so node_modules resolves from there.
  const runDir = async (project: string) => {
    runDirs.push(await Deno.makeTempDir({ dir: project, prefix: "run-" }));
    return runDirs.at(-1)!;
  };
  try {
    const [tools, build, cluster] = await Promise.all([
      nodeTools(),
      npmBuild(),
      startCluster({
        hba: ["local all scramnode scram-sha-256", "local all all trust", "hostssl all all 127.0.0.1/32 trust"],
        settings: { ssl: true, ssl_cert_file: certs.server.certPath, ssl_key_file: certs.server.keyPath },
      }),
    ]);
    pg = cluster;
    const info = await readPackageInfo();

    await t.step("npm pack holds the modules, their declarations, README, LICENSE and package.json only", async () => {
      const [packed] = JSON.parse(await npm(build.dir, ["pack", "--dry-run", "--json"]));
      const files: string[] = packed.files.map((f: { path: string }) => f.path).sort();
      const published = (await moduleGraph(info.root, Object.values(info.exports))).files;
      const expected = [
        ...PACKAGE_EXTRAS,
        ...published.flatMap((f) => [f.replace(/\.ts$/, ".js"), f.replace(/\.ts$/, ".d.ts")]),
      ]
        .sort();
      assert.deepEqual(files, expected);
      assert.ok(!files.some((f) => /^(tests|bench|examples|scripts)\//.test(f)), "no test, bench or tool in it");
    });

    // "app" has only the package (and what it depends on); "full" adds PGlite for its conformance run.
    const pglite = Object.values(info.imports).find((p) => p.name === "@electric-sql/pglite")!;
    const [appProject, fullProject] = await Promise.all([
      cachedProject("app"),
      cachedProject("full", { [pglite.name]: pglite.version }),
    ]);
    const [app, full] = [await runDir(appProject), await runDir(fullProject)];
    await Promise.all([
      bundleTests([...DENO_TESTS, ...NODE_TESTS], `${full}/bundled`, fullProject),
      // The tour creates and drops its own table: each Node version gets a database of its own.
      cluster.psql("CREATE DATABASE tour_20").then(() => cluster.psql("CREATE DATABASE tour_22")),
      cluster.psql(`CREATE ROLE scramnode LOGIN PASSWORD '${SCRAM_PASSWORD}'`, { host: cluster.socketDir }),
    ]);
    await Deno.writeTextFile(`${app}/tour.mts`, await readmeTour());
    await Deno.writeTextFile(`${app}/app.ts`, APP);
    const bundled = await run(
      tools.esbuild,
      ["app.ts", "--bundle", "--platform=node", "--format=esm", "--outfile=app.mjs", "--log-level=warning"],
      { cwd: app },
    );

    const tlsUrl = (db: string) =>
      `postgres://postgres@localhost:${cluster.port}/${db}?sslmode=verify-full&sslrootcert=` +
      encodeURIComponent(certs.ca.certPath);
    const env = {
      DATABASE_URL: TEST_URL,
      DEWEY_NODE_TLS_PORT: String(cluster.port),
      DEWEY_NODE_TLS_CA: certs.ca.certPath,
      DEWEY_NODE_TLS_OTHER_CA: certs.otherCa.certPath,
      DEWEY_NODE_SOCKET_DIR: cluster.socketDir,
      DEWEY_NODE_SOCKET_PORT: String(cluster.port),
      DEWEY_NODE_SCRAM_PASSWORD: SCRAM_PASSWORD,
    };
    const testFiles = [...DENO_TESTS, ...NODE_TESTS].map((f) => `bundled/${f.replace(/\.ts$/, ".mjs")}`);
    const onNode = async (node: string, major: number) => ({
      version: (await runNode(node, ["--version"], { cwd: app })).stdout.trim(),
      tests: await runNode(node, ["--test", "--test-reporter=tap", ...testFiles], {
        cwd: full,
        env,
        timeoutMs: 180_000,
      }),
      // A process that does not exit on its own left something open: that fails too.
      tour: await runNode(node, [tools.tsx, "tour.mts"], {
        cwd: app,
        env: { DATABASE_URL: tlsUrl(`tour_${major}`) },
        timeoutMs: 30_000,
      }),
      tsx: await runNode(node, [tools.tsx, "app.ts"], { cwd: app, env: { DATABASE_URL: TEST_URL }, timeoutMs: 30_000 }),
      bundle: await runNode(node, ["app.mjs"], { cwd: app, env: { DATABASE_URL: TEST_URL }, timeoutMs: 30_000 }),
    });
    // Both versions at once: every test names its tables and backends after its own process.
    const runs = await Promise.all([onNode(tools.node20, 20), onNode(tools.node22, 22)]);

    for (const [major, r] of [[20, runs[0]], [22, runs[1]]] as const) {
      await t.step(`Node ${major} (${r.version})`, async (t) => {
        assert.match(r.version, new RegExp(`^v${major}\\.`));
        const counts = tapCounts(r.tests.stdout);
        await t.step(`conformance (postgres.js, PGlite), TLS verify-full, reconnection: ${counts.pass} pass`, () => {
          const failed = counts.fail || counts.cancelled || counts.skipped || counts.todo;
          assert.ok(r.tests.code === 0 && counts.tests > 0 && !failed, show("node --test", r.tests));
          assert.equal(counts.pass, counts.tests);
        });
        await t.step("the README tour runs under tsx (verify-full)", () => {
          assert.equal(r.tour.code, 0, show("tsx tour.mts", r.tour));
          assert.match(r.tour.stdout, /^savepoint rolled back: 23514$/m);
          assert.match(r.tour.stdout, /\[ \{ item: "book", qty: 2 \} \]|\[ \{ item: 'book', qty: 2 \} \]/);
          assert.match(r.tour.stdout, /status: 'healthy'/);
        });
        const app = (label: string, run: Run) => {
          assert.equal(run.code, 0, show(label, run));
          const { answer, inSession, commonjs, pglite } = JSON.parse(run.stdout);
          assert.deepEqual({ answer, inSession }, { answer: 42, inSession: 2 });
          assert.match(pglite, PGLITE_MISSING);
          return commonjs;
        };
        await t.step("a TypeScript file in a CommonJS project under tsx", () => {
          assert.equal(app("tsx app.ts", r.tsx), true, "tsx ran it as CommonJS");
        });
        await t.step("an esbuild bundle (--bundle --platform=node) with no optional peer installed", () => {
          assert.equal(bundled.code, 0, show("esbuild --bundle --platform=node app.ts", bundled));
          app("node app.mjs", r.bundle);
        });
      });
    }
  } finally {
    await pg?.destroy();
    for (const dir of runDirs) await Deno.remove(dir, { recursive: true });
  }
});

/** What opening PGlite says where its package is not installed: which package, and how to get it. */
const PGLITE_MISSING =
  /driver "pglite" needs the npm package @electric-sql\/pglite.*: npm install @electric-sql\/pglite/;
