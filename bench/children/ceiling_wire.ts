// Ceiling child: the floor of a JavaScript client on Deno. The wire protocol written by hand over Deno.connect
// (trust authentication only: the bench's throwaway cluster), one prepared statement, Bind/Execute/Sync per
// statement (autocommit, as @dewey/db), the writes of one tick coalesced per connection, least-loaded dispatch, one
// promise per statement. Not a driver: what postgres.js's and @dewey/db's work costs shows against this row.
// Same arguments and output as ceiling_client.ts (its first argument is ignored).
import { measureStatements } from "../cpu.ts";
import { ids } from "../fixtures.ts";

const [, workload, href, statements, callers, connections, postmaster] = Deno.args;
const url = new URL(href);
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const keys = ids(4096);
const pk = workload === "pk";
const TEXT = pk ? "SELECT id, name, n FROM dewey_bench_items WHERE id = $1" : "SELECT 1";

/** Protocol messages: a type byte, a length, then the body. */
function message(type: string, ...parts: (string | number[] | Uint8Array)[]): Uint8Array {
  const bodies = parts.map((p) => typeof p === "string" ? encoder.encode(p + "\0") : Uint8Array.from(p));
  const length = 4 + bodies.reduce((n, b) => n + b.length, 0);
  const out = new Uint8Array(1 + length);
  out[0] = type.charCodeAt(0);
  new DataView(out.buffer).setInt32(1, length);
  let at = 5;
  for (const b of bodies) out.set(b, at), at += b.length;
  return out;
}

const i16 = (n: number) => [(n >> 8) & 255, n & 255];
const i32 = (n: number) => [(n >>> 24) & 255, (n >> 16) & 255, (n >> 8) & 255, n & 255];
const EXECUTE_SYNC = new Uint8Array([...message("E", "", i32(0)), ...message("S")]);
const BIND_NO_PARAMS = message("B", "", "s", i16(0), i16(0), i16(0));

class Wire {
  inflight = 0;
  #waiting: ((row: unknown) => void)[] = [];
  #head = 0;
  #out: Uint8Array[] = [];
  #flushing = false;
  #row: unknown;
  constructor(readonly conn: Deno.TcpConn) {}

  static async open(): Promise<Wire> {
    const conn = await Deno.connect({ hostname: url.hostname, port: Number(url.port || 5432) });
    conn.setNoDelay(true);
    const w = new Wire(conn);
    const params = `user\0${decodeURIComponent(url.username || "postgres")}\0database\0${url.pathname.slice(1)}\0\0`;
    const startup = new Uint8Array(8 + encoder.encode(params).length);
    new DataView(startup.buffer).setInt32(0, startup.length);
    new DataView(startup.buffer).setInt32(4, 196608);
    startup.set(encoder.encode(params), 8);
    await conn.write(startup);
    const ready = new Promise((r) => w.#waiting.push(r));
    w.#read().catch(() => {}); // ends when the connection is closed
    await ready; // ReadyForQuery after startup
    const parsed = new Promise((r) => w.#waiting.push(r));
    await conn.write(
      new Uint8Array([...message("P", "s", TEXT, i16(pk ? 1 : 0), ...(pk ? [i32(23)] : [])), ...message("S")]),
    );
    await parsed;
    return w;
  }

  run(param?: number): Promise<unknown> {
    this.#out.push(param === undefined ? BIND_NO_PARAMS : bind(param), EXECUTE_SYNC);
    if (!this.#flushing) {
      this.#flushing = true;
      queueMicrotask(() => this.#flush()); // every statement issued in this tick goes in one write
    }
    return new Promise((r) => this.#waiting.push(r));
  }

  async #flush(): Promise<void> {
    const parts = this.#out;
    this.#out = [];
    this.#flushing = false;
    let size = 0;
    for (const p of parts) size += p.length;
    const buf = new Uint8Array(size);
    let at = 0;
    for (const p of parts) buf.set(p, at), at += p.length;
    for (let done = 0; done < buf.length;) done += await this.conn.write(buf.subarray(done));
  }

  async #read(): Promise<void> {
    let pending = new Uint8Array(0);
    const chunk = new Uint8Array(65536);
    for (;;) {
      const n = await this.conn.read(chunk);
      if (n === null) return;
      let data = chunk.subarray(0, n);
      if (pending.length) {
        const joined = new Uint8Array(pending.length + n);
        joined.set(pending);
        joined.set(data, pending.length);
        data = joined;
      }
      const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
      let at = 0;
      while (data.length - at >= 5) {
        const length = view.getInt32(at + 1);
        if (data.length - at < 1 + length) break;
        this.#message(data[at], data, view, at + 5, at + 1 + length);
        at += 1 + length;
      }
      pending = data.slice(at);
    }
  }

  #message(type: number, data: Uint8Array, view: DataView, start: number, end: number): void {
    if (type === 0x44 /* D: DataRow */) {
      const count = view.getInt16(start);
      const values: (string | null)[] = [];
      for (let i = 0, at = start + 2; i < count; i++) {
        const length = view.getInt32(at);
        at += 4;
        values.push(length < 0 ? null : text(data, at, at += length));
      }
      this.#row = pk
        ? { id: Number(values[0]), name: values[1], n: Number(values[2]) }
        : { "?column?": Number(values[0]) };
    } else if (type === 0x5a /* Z: ReadyForQuery */) {
      const resolve = this.#waiting[this.#head];
      this.#waiting[this.#head++] = undefined!;
      if (this.#head === this.#waiting.length) this.#waiting.length = this.#head = 0;
      resolve([this.#row]);
      this.#row = undefined;
    } else if (type === 0x45 /* E: ErrorResponse */) {
      console.error(decoder.decode(data.subarray(start, end)).replaceAll("\0", " "));
      Deno.exit(1);
    }
  }
}

/** Bind of statement "s" with one text parameter. */
function bind(value: number): Uint8Array {
  const digits = String(value);
  const out = new Uint8Array(1 + 4 + 1 + 2 + 2 + 2 + 4 + digits.length + 2);
  const view = new DataView(out.buffer);
  out[0] = 0x42;
  view.setInt32(1, out.length - 1);
  out[6] = 0x73; // "s\0"; portal "" is the 0 before it
  view.setInt16(10, 1);
  view.setInt32(12, digits.length);
  for (let i = 0; i < digits.length; i++) out[16 + i] = digits.charCodeAt(i);
  return out;
}

/** UTF-8 text; ASCII without a call into the runtime, as drivers do for short values. */
function text(data: Uint8Array, start: number, end: number): string {
  let s = "";
  for (let i = start; i < end; i++) {
    if (data[i] > 0x7f) return decoder.decode(data.subarray(start, end));
    s += String.fromCharCode(data[i]);
  }
  return s;
}

const wires = await Promise.all(Array.from({ length: Number(connections) }, () => Wire.open()));
const op = async (i: number) => {
  let best = wires[0];
  for (const w of wires) if (w.inflight < best.inflight) best = w;
  best.inflight++;
  try {
    return await best.run(pk ? keys[i & 4095] : undefined);
  } finally {
    best.inflight--;
  }
};

const n = Number(statements);
console.log(JSON.stringify(await measureStatements(op, n, Number(callers), Number(postmaster))));
for (const w of wires) w.conn.close();
