// Ceiling child: one in-process client in a process of its own (its V8 heap and GC threads are its alone),
// `callers` concurrent callers on `connections` connections. After a warm-up it measures `statements`
// statements and prints one JSON line: statements/s, and the CPU per statement of this process (every thread)
// and of the cluster whose postmaster is `postmaster`.
//
//   deno run -A bench/children/ceiling_client.ts <ours|raw> <select1|pk> <url> <statements> <callers> <connections> <postmaster>
import { measureStatements } from "../cpu.ts";
import { openDispatch, openOurs } from "../contenders.ts";
import { ids } from "../fixtures.ts";

const [client, workload, href, statements, callers, connections, postmaster] = Deno.args;
const url = new URL(href);
const n = Number(statements);
const size = Number(connections);
const keys = ids(4096);

let op: (i: number) => Promise<unknown>;
let close: () => Promise<void>;
if (client === "ours") {
  const db = await openOurs(url, size);
  op = workload === "select1"
    ? () => db.sql`SELECT 1`
    : (i) => db.sql`SELECT id, name, n FROM dewey_bench_items WHERE id = ${keys[i & 4095]}`;
  close = () => db.close();
} else {
  const d = await openDispatch(url, size);
  op = workload === "select1"
    ? () => d.run((sql) => sql`SELECT 1`)
    : (i) => d.run((sql) => sql`SELECT id, name, n FROM dewey_bench_items WHERE id = ${keys[i & 4095]}`);
  close = d.close;
}

console.log(JSON.stringify(await measureStatements(op, n, Number(callers), Number(postmaster))));
await close();
