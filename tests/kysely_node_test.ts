// The npm build under Node 20: a small Kysely program on @dewey/db/kysely, with kysely installed beside the package
// as the optional peer it is (the build is the one tests/node_test.ts uses, cached per state of the sources).
import assert from "node:assert/strict";
import { cachedProject, nodeTools, npmBuild, runNode } from "./helpers/node.ts";
import { TEST_URL } from "./helpers/db.ts";

const PROGRAM = `import { getConnection } from "@dewey/db";
import { DeweyDialect, inSession } from "@dewey/db/kysely";
import { Kysely, sql } from "kysely";

const db = await getConnection(process.env.DATABASE_URL, { logger: false });
const kysely = new Kysely({ dialect: new DeweyDialect({ db }) });
try {
  const { rows: [one] } = await sql\`select \${41}::int + 1 as answer, 9007199254740993::int8 as big\`.execute(kysely);
  const pinned = await kysely.connection().execute(async (c) => {
    await sql\`create temp table node_tmp (x int)\`.execute(c);
    await sql\`insert into node_tmp values (1), (2)\`.execute(c);
    return (await sql\`select count(*)::int as n from node_tmp\`.execute(c)).rows[0].n;
  });
  const iso = await kysely.transaction().setIsolationLevel("serializable").execute(async (trx) =>
    (await sql\`select current_setting('transaction_isolation') as iso\`.execute(trx)).rows[0].iso
  );
  const chunks = [];
  for await (const row of kysely.selectFrom(sql\`generate_series(1, 5)\`.as("g")).select(sql\`g\`.as("g")).stream(2)) {
    chunks.push(row.g);
  }
  let attempts = 0;
  const retried = await inSession(db, kysely, async (k) => {
    if (++attempts === 1) await sql\`do $$ begin raise exception using errcode = '40001'; end $$\`.execute(k);
    return attempts;
  }, { retry: 2 });
  console.log(JSON.stringify({ one, pinned, iso, chunks, retried }));
} finally {
  await kysely.destroy();
}
`;

Deno.test("kysely on Node 20: the npm build runs a Kysely program (pool, connection(), transaction, stream, retry)", async () => {
  const [tools, { dir }] = await Promise.all([nodeTools(), npmBuild()]);
  const manifest = JSON.parse(await Deno.readTextFile(`${dir}/package.json`));
  assert.ok(manifest.exports["./kysely"], "the package exports @dewey/db/kysely");
  assert.equal(manifest.peerDependenciesMeta?.kysely?.optional, true, "kysely is an optional peer");
  assert.equal(manifest.dependencies?.kysely, undefined);
  const kysely = manifest.peerDependencies.kysely.replace(/^[^\d]*/, "");
  const project = await cachedProject("kysely", { kysely });
  const app = `${project}/kysely-app-${crypto.randomUUID().slice(0, 8)}`;
  await Deno.mkdir(app);
  try {
    await Deno.writeTextFile(`${app}/app.mjs`, PROGRAM);
    const out = await runNode(tools.node20, ["app.mjs"], {
      cwd: app,
      env: { DATABASE_URL: TEST_URL },
      timeoutMs: 30_000,
    });
    assert.equal(out.code, 0, out.stderr);
    assert.deepEqual(JSON.parse(out.stdout), {
      one: { answer: 42, big: "9007199254740993" },
      pinned: 2,
      iso: "serializable",
      chunks: [1, 2, 3, 4, 5],
      retried: 2,
    });
  } finally {
    await Deno.remove(app, { recursive: true });
  }
});
