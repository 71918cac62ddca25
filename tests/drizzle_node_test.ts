// `@dewey/db/drizzle` from the npm build on Node 20: the packed tarball and drizzle-orm (its optional peer, at the
// version deno.json pins) installed into a scratch project, then a small Drizzle program as a Node user writes one.
import assert from "node:assert/strict";
import { readPackageInfo } from "../scripts/package_info.ts";
import { TEST_URL } from "./helpers/db.ts";
import { cachedProject, nodeTools, runNode } from "./helpers/node.ts";

const PROGRAM = `import { getConnection } from "@dewey/db";
import { drizzle } from "@dewey/db/drizzle";
import { eq, sql } from "drizzle-orm";
import { jsonb, pgTable, serial, text, timestamp } from "drizzle-orm/pg-core";

const notes = pgTable("dz_node_notes", {
  id: serial("id").primaryKey(),
  body: text("body").notNull(),
  meta: jsonb("meta"),
  at: timestamp("at"),
});

const db = drizzle(await getConnection(process.env.DATABASE_URL, { logger: false }));
try {
  await db.execute(sql\`DROP TABLE IF EXISTS dz_node_notes\`);
  await db.execute(sql\`CREATE TABLE dz_node_notes (id serial PRIMARY KEY, body text NOT NULL, meta jsonb, at timestamp)\`);
  const at = new Date("2024-05-06T07:08:09.010Z");
  const [first] = await db.insert(notes).values({ body: "hello", meta: { tags: ["a"] }, at }).returning();
  const kept = await db.transaction(async (tx) => {
    await tx.insert(notes).values({ body: "kept" });
    await tx.transaction(async (inner) => {
      await inner.insert(notes).values({ body: "dropped" });
      inner.rollback();
    }).catch(() => {});
    return (await tx.select({ body: notes.body }).from(notes)).map((r) => r.body);
  }, { isolationLevel: "repeatable read" });
  const byId = db.select().from(notes).where(eq(notes.id, sql.placeholder("id"))).prepare("by_id");
  const [again] = await byId.execute({ id: first.id });
  console.log(JSON.stringify({ first, kept, sameTime: again.at.getTime() === at.getTime(), meta: again.meta }));
  await db.execute(sql\`DROP TABLE dz_node_notes\`);
} finally {
  await db.$client.close();
}
`;

Deno.test("npm build on Node 20: a Drizzle program on @dewey/db/drizzle", async () => {
  const info = await readPackageInfo();
  const orm = Object.values(info.imports).find((p) => p.name === "drizzle-orm")!;
  const [tools, project] = await Promise.all([nodeTools(), cachedProject("drizzle", { [orm.name]: orm.version })]);
  const dir = await Deno.makeTempDir({ dir: project, prefix: "run-" });
  try {
    await Deno.writeTextFile(`${dir}/notes.mjs`, PROGRAM);
    const run = await runNode(tools.node20, ["notes.mjs"], {
      cwd: dir,
      env: { DATABASE_URL: TEST_URL, TZ: "America/Los_Angeles" },
      timeoutMs: 30_000,
    });
    assert.equal(run.code, 0, `node notes.mjs exited ${run.code}\n${run.stdout}\n${run.stderr}`);
    assert.deepEqual(JSON.parse(run.stdout), {
      first: { id: 1, body: "hello", meta: { tags: ["a"] }, at: "2024-05-06T07:08:09.010Z" },
      kept: ["hello", "kept"],
      sameTime: true,
      meta: { tags: ["a"] },
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
