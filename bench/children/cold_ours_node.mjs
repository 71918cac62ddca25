// Cold start child under Node: the npm build of @dewey/db, from a new process to the first row. Prints "ROW" when
// it has it. Copied next to the scratch project's node_modules by bench/scenarios/cold_start_node.ts.
import process from "node:process";
import { getConnection } from "@dewey/db";

const url = new URL(process.argv[2]);
url.searchParams.set("sslmode", "disable");
const db = await getConnection(url.href, { logger: false });
const rows = await db.sql`SELECT 1 AS one`;
if (rows[0]?.one !== 1) throw new Error(`unexpected row ${JSON.stringify(rows)}`);
process.stdout.write("ROW\n");
await db.close();
