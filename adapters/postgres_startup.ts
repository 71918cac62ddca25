/**
 * The startup and authentication of a postgres.js connection, done by the
 * adapter on the socket it dialled, before postgres.js sees the socket:
 * libpq's rules for `channel_binding` (SCRAM-SHA-256-PLUS with
 * `tls-server-end-point` over the TLS the adapter negotiated, which
 * postgres.js cannot do), `require_auth`, and a clear error when the server
 * asks for a password none was configured for. postgres.js then takes over an
 * authenticated connection: its own StartupMessage is answered with what the
 * server sent after authentication (AuthenticationOk, ParameterStatus,
 * BackendKeyData, ReadyForQuery).
 *
 * @module
 */

import { Buffer } from "node:buffer";
import process from "node:process";
import { createHash } from "node:crypto";
import type { Duplex } from "node:stream";
import type { TLSSocket } from "node:tls";
import { errorFields, serverError } from "../src/classify.ts";
import type { ChannelBinding } from "../src/config/types.ts";
import type { ErrorCode } from "../src/error_codes.ts";
import { DatabaseConnectionError } from "../src/errors.ts";
import { scram, serverEndPoint } from "./scram.ts";

/** What the startup needs. */
export interface StartupOptions {
  /** Startup parameters: `user`, `database`, `application_name`, `options`... */
  readonly parameters: Readonly<Record<string, string>>;
  /** The password, if any. */
  readonly password?: string;
  /** Where the password came from (`/home/app/.pgpass:3`), for a rejected one; or why there is none. */
  readonly passwordSource?: string;
  /** libpq's `channel_binding`. */
  readonly channelBinding: ChannelBinding;
  /** libpq 16's `require_auth`, normalised (`scram-sha-256,md5` or `!password`). */
  readonly requireAuth?: string;
  /** `host:port` (or the socket), for messages. */
  readonly target: string;
  /** Aborts the startup (connect_timeout, pool closing). */
  readonly signal: AbortSignal;
}

const AUTH_OK = 0;
const AUTH_CLEARTEXT = 3;
const AUTH_MD5 = 5;
const AUTH_SASL = 10;
const AUTH_SASL_CONTINUE = 11;
const AUTH_SASL_FINAL = 12;
const METHOD_NAMES: Readonly<Record<number, [method: string, request: string]>> = {
  [AUTH_CLEARTEXT]: ["password", "a cleartext password"],
  [AUTH_MD5]: ["md5", "an MD5 password"],
  [AUTH_SASL]: ["scram-sha-256", "SASL (SCRAM) authentication"],
  2: ["gss", "Kerberos V5 authentication"],
  7: ["gss", "GSSAPI authentication"],
  9: ["sspi", "SSPI authentication"],
};

/**
 * The startup message libpq and postgres.js send: protocol 3.0 and the parameters.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { startupMessage } from "./postgres_startup.ts";
 * const m = startupMessage({ user: "app", database: "shop" });
 * assert(m.readInt32BE(0) === m.length && m.readInt32BE(4) === 196608);
 * ```
 */
export function startupMessage(parameters: Readonly<Record<string, string>>): Buffer {
  const body = Object.entries(parameters).filter(([, v]) => v !== "").map(([k, v]) => `${k}\0${v}\0`).join("") + "\0";
  const text = Buffer.from(body);
  const out = Buffer.alloc(8 + text.length);
  out.writeInt32BE(out.length, 0);
  out.writeInt32BE(196608, 4);
  text.copy(out, 8);
  return out;
}

/**
 * Sends the startup message on `socket` and authenticates as the server asks,
 * following libpq's rules; resolves with the bytes the server sent from
 * AuthenticationOk to ReadyForQuery, for {@linkcode handOver}. Rejects with a
 * `QueryError` or `DatabaseConnectionError` for the server's refusal (28P01,
 * 3D000...), or a `DatabaseConnectionError` with the library's code
 * (`PASSWORD_MISSING`, `CHANNEL_BINDING`, `AUTH_METHOD_REFUSED`,
 * `AUTH_UNSUPPORTED`).
 *
 * @example
 * ```ts ignore
 * const rest = await startup(socket, { parameters, password, channelBinding: "prefer", target, signal });
 * handOver(socket, rest);
 * ```
 */
export async function startup(socket: Duplex, options: StartupOptions): Promise<Buffer> {
  const reader = new MessageReader(socket, options.signal, options.target);
  try {
    socket.write(startupMessage(options.parameters));
    return await authenticate(socket, reader, options);
  } catch (error) {
    // Nobody else holds the socket yet: a refusal decided here (no password, no channel binding) would
    // otherwise leave the server's backend waiting for authentication_timeout.
    socket.destroy();
    throw error;
  } finally {
    reader.stop();
  }
}

async function authenticate(socket: Duplex, reader: MessageReader, o: StartupOptions): Promise<Buffer> {
  const tls = tlsCertificate(socket);
  const user = o.parameters.user;
  const require = parseRequireAuth(o.requireAuth);
  let exchange: ReturnType<typeof scram> | undefined;
  let bound = false;
  let method: string | undefined;
  const fail = (code: ErrorCode, message: string) =>
    new DatabaseConnectionError(`${o.target}: ${message}`, { code, retryable: false, reachedServer: false });
  const needPassword = (request: string): string => {
    if (o.password !== undefined) return o.password;
    const why = o.passwordSource ? ` (${o.passwordSource})` : "";
    throw fail(
      "PASSWORD_MISSING",
      `the server asks user "${user}" for ${request}, and no password is configured${why}: ` +
        "set password, PGPASSWORD, or a line in the password file (~/.pgpass)",
    );
  };
  for (;;) {
    const message = await reader.next();
    if (message.type === 0x45) throw startupError(message.body, o);
    if (message.type !== 0x52) continue; // NoticeResponse, NegotiateProtocolVersion: nothing to answer
    const code = message.body.readInt32BE(0);
    if (code === AUTH_OK) {
      if (o.channelBinding === "require" && !bound) {
        throw fail(
          "CHANNEL_BINDING",
          "channel binding required, but server authenticated client without channel binding",
        );
      }
      if (require && method === undefined && !require.allows("none")) {
        throw fail("AUTH_METHOD_REFUSED", `${require.text}: the server did not ask for authentication`);
      }
      return await reader.until(message, 0x5a, (error) => startupError(error, o));
    }
    if (code === AUTH_SASL_CONTINUE || code === AUTH_SASL_FINAL) {
      if (!exchange) throw fail("AUTH_UNSUPPORTED", "the server sent a SASL message out of turn");
      const data = message.body.subarray(4).toString("utf8");
      if (code === AUTH_SASL_CONTINUE) {
        socket.write(frame(0x70, Buffer.from(await exchange.final(data))));
      } else {
        exchange.verify(data);
        bound = exchange.first.startsWith("p=");
      }
      continue;
    }
    const [name, request] = METHOD_NAMES[code] ?? ["unknown", `authentication of type ${code}`];
    method = name;
    if (require && !require.allows(name)) {
      throw fail("AUTH_METHOD_REFUSED", `${require.text}: the server asked for ${request}`);
    }
    if (o.channelBinding === "require" && code !== AUTH_SASL) {
      throw fail("CHANNEL_BINDING", "channel binding required but not supported by server's authentication request");
    }
    if (code === AUTH_CLEARTEXT) {
      socket.write(frame(0x70, Buffer.from(`${needPassword(request)}\0`)));
    } else if (code === AUTH_MD5) {
      const salt = message.body.subarray(4, 8);
      const inner = md5(Buffer.from(needPassword(request) + user));
      socket.write(frame(0x70, Buffer.from(`md5${md5(Buffer.concat([Buffer.from(inner), salt]))}\0`)));
    } else if (code === AUTH_SASL) {
      const mechanisms = message.body.subarray(4).toString("utf8").split("\0").filter(Boolean);
      const plus = mechanisms.includes("SCRAM-SHA-256-PLUS");
      if (plus && !tls) {
        throw fail("CHANNEL_BINDING", "server offered SCRAM-SHA-256-PLUS authentication over a non-SSL connection");
      }
      const usePlus = plus && o.channelBinding !== "disable";
      if (!usePlus && !mechanisms.includes("SCRAM-SHA-256")) {
        throw fail("AUTH_UNSUPPORTED", `none of the server's SASL authentication mechanisms are supported`);
      }
      if (o.channelBinding === "require" && !tls) {
        throw fail("CHANNEL_BINDING", "channel binding required, but SSL not in use");
      }
      if (o.channelBinding === "require" && !usePlus) {
        throw fail(
          "CHANNEL_BINDING",
          "channel binding is required, but server did not offer an authentication method that supports channel binding",
        );
      }
      const binding = usePlus ? serverEndPoint(tls!) : undefined;
      if (usePlus && !binding) {
        throw fail("CHANNEL_BINDING", "the server certificate's signature algorithm names no hash to bind to");
      }
      const password = needPassword(request);
      exchange = scram(
        password,
        binding ? { flag: "p", bindingData: binding } : { flag: tls && o.channelBinding !== "disable" ? "y" : "n" },
      );
      const mechanism = binding ? "SCRAM-SHA-256-PLUS" : "SCRAM-SHA-256";
      const first = Buffer.from(exchange.first);
      const length = Buffer.alloc(4);
      length.writeInt32BE(first.length);
      socket.write(frame(0x70, Buffer.concat([Buffer.from(`${mechanism}\0`), length, first])));
    } else {
      throw fail("AUTH_UNSUPPORTED", `the server asks for ${request}, which this library does not implement`);
    }
  }
}

/** The error for an ErrorResponse during startup; a rejected password from a password file says so, as libpq. */
function startupError(body: Buffer, o: StartupOptions): Error {
  const record: Record<string, unknown> = {};
  let at = 0;
  while (at < body.length && body[at] !== 0) {
    const end = body.indexOf(0, at + 1);
    record[FIELDS[String.fromCharCode(body[at])] ?? "_"] = body.toString("utf8", at + 1, end);
    at = end + 1;
  }
  const fields = errorFields(record);
  if (fields.code === "28P01" && o.passwordSource && o.password !== undefined && /:\d+$/.test(o.passwordSource)) {
    fields.message += ` (password retrieved from ${o.passwordSource})`;
  }
  return serverError(fields, undefined, false);
}

const FIELDS: Readonly<Record<string, string>> = {
  S: "severity",
  C: "code",
  M: "message",
  D: "detail",
  H: "hint",
  P: "position",
  W: "where",
  s: "schema",
  t: "table",
  c: "column",
  n: "constraint",
};

/** The server's certificate (DER) when `socket` is a TLS socket, else `undefined`. */
function tlsCertificate(socket: Duplex): Uint8Array | undefined {
  const tls = socket as Partial<TLSSocket>;
  if (typeof tls.getPeerCertificate !== "function" || !tls.encrypted) return undefined;
  return tls.getPeerCertificate().raw ?? new Uint8Array();
}

/** libpq 16's `require_auth`, parsed: which methods it allows, and its text for messages. */
function parseRequireAuth(text: string | undefined): { allows(method: string): boolean; text: string } | undefined {
  if (!text) return undefined;
  const negated = text.startsWith("!");
  const methods = text.split(",").map((m) => m.replace(/^!/, ""));
  return {
    allows: (method) => methods.includes(method) !== negated,
    text: `authentication method requirement "${text}" failed`,
  };
}

function md5(data: Buffer): string {
  return createHash("md5").update(data).digest("hex");
}

/** A protocol message: type, length, body. */
function frame(type: number, body: Buffer): Buffer {
  const out = Buffer.alloc(5 + body.length);
  out[0] = type;
  out.writeInt32BE(4 + body.length, 1);
  body.copy(out, 5);
  return out;
}

/**
 * Makes `socket` answer postgres.js's StartupMessage with `rest` (what the
 * server sent from AuthenticationOk on): the message is swallowed, `rest`
 * arrives as data, and every later write goes to the server.
 *
 * @example
 * ```ts ignore
 * handOver(socket, await startup(socket, options));
 * ```
 */
export function handOver(socket: Duplex, rest: Buffer): void {
  const write = socket.write;
  // deno-lint-ignore no-explicit-any
  socket.write = function (chunk: any, encoding?: any, callback?: any): boolean {
    socket.write = write;
    const data = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
    const done = typeof encoding === "function" ? encoding : callback;
    const isStartup = data.length >= 8 && data.readInt32BE(4) === 196608 && data.readInt32BE(0) <= data.length;
    const after = isStartup ? data.subarray(data.readInt32BE(0)) : data;
    process.nextTick(() => socket.emit("data", rest));
    if (after.length) return write.call(socket, after, done);
    if (done) process.nextTick(done);
    return true;
  } as typeof socket.write;
}

/** Framed messages from a socket, while the startup owns it. */
class MessageReader {
  #buffer: Buffer = Buffer.alloc(0);
  #wake: (() => void) | undefined;
  #error: Error | undefined;
  #onData = (chunk: Buffer) => {
    this.#buffer = this.#buffer.length ? Buffer.concat([this.#buffer, chunk]) : chunk;
    this.#wake?.();
  };
  #onEnd = (error?: Error) => {
    this.#error ??= new DatabaseConnectionError(
      `${this.target}: the server closed the connection during startup${error ? ` (${error.message})` : ""}`,
      {
        code: (error as { code?: string })?.code ?? "CONNECTION_CLOSED",
        retryable: true,
        reachedServer: false,
        cause: error,
      },
    );
    this.#wake?.();
  };
  #onAbort = () => {
    this.#error ??= this.signal.reason instanceof Error ? this.signal.reason : new Error(String(this.signal.reason));
    this.#wake?.();
  };

  constructor(readonly socket: Duplex, readonly signal: AbortSignal, readonly target: string) {
    socket.on("data", this.#onData);
    socket.once("close", this.#onEnd);
    socket.once("error", this.#onEnd);
    signal.addEventListener("abort", this.#onAbort, { once: true });
    if (signal.aborted) this.#onAbort();
  }

  /** The next whole message. */
  async next(): Promise<{ type: number; body: Buffer; raw: Buffer }> {
    for (;;) {
      if (this.#buffer.length >= 5) {
        const length = this.#buffer.readInt32BE(1);
        if (this.#buffer.length >= length + 1) {
          const raw = this.#buffer.subarray(0, length + 1);
          this.#buffer = this.#buffer.subarray(length + 1);
          return { type: raw[0], body: raw.subarray(5), raw };
        }
      }
      if (this.#error) throw this.#error;
      await new Promise<void>((resolve) => this.#wake = resolve);
      this.#wake = undefined;
    }
  }

  /** `first` and every message after it up to the one of type `last`, as bytes; an ErrorResponse fails. */
  async until(first: { raw: Buffer }, last: number, error: (body: Buffer) => Error): Promise<Buffer> {
    const parts = [first.raw];
    for (;;) {
      const message = await this.next();
      if (message.type === 0x45) throw error(message.body);
      parts.push(message.raw);
      if (message.type === last) return Buffer.concat([...parts, this.#buffer]);
    }
  }

  stop(): void {
    this.socket.off("data", this.#onData);
    this.socket.off("close", this.#onEnd);
    this.socket.off("error", this.#onEnd);
    this.signal.removeEventListener("abort", this.#onAbort);
  }
}
