// Cold start child under Node: raw postgres.js, from a new process to the first row. Prints "ROW" when it has it.
// An optional second argument is a module imported before connecting (zod/mini, @dewey/db), to measure its share.
// Copied next to the scratch project's node_modules by bench/scenarios/cold_start_node.ts.
import process from "node:process";
import postgres from "postgres";

if (process.argv[3]) await import(process.argv[3]);
const sql = postgres(process.argv[2], { ssl: false, max: 10, onnotice: () => {} });
const rows = await sql`SELECT 1 AS one`;
if (rows[0]?.one !== 1) throw new Error(`unexpected row ${JSON.stringify(rows)}`);
process.stdout.write("ROW\n");
await sql.end({ timeout: 1 });
