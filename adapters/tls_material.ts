/**
 * Certificates and keys for TLS (`sslrootcert`, `sslcert`, `sslkey`, `sslpassword`): read once when the
 * driver is built, parsed and checked before any connection is attempted, each problem reported as a
 * `ConfigError` issue naming its key. Files are read with `node:fs` where the runtime has it; a runtime
 * without files (Workers) takes inline PEM only.
 *
 * @module
 */

import { createPrivateKey, type KeyObject, X509Certificate } from "node:crypto";
import type { DatabaseConfig } from "../src/config/types.ts";
import { ConfigError, type ConfigIssue } from "../src/errors.ts";
import { Secret } from "../src/redact.ts";
import { parseCrl, type RevocationList } from "./crl.ts";

/** What `sslrootcert`, `sslcert`, `sslkey` and `sslpassword` resolved to, ready for `tls.connect`. */
export interface TlsMaterial {
  /** Trust anchors: PEM certificates from `sslrootcert`, `"system"` for the runtime's store, undefined when unset. */
  readonly ca?: readonly string[] | "system";
  /** Client certificate (and any intermediates), PEM, from `sslcert`. */
  readonly cert?: string;
  /** Client private key, decrypted, as PKCS#8 PEM; hidden from every printout. */
  readonly key?: Secret;
  /** Subject of the client certificate, for messages. */
  readonly certSubject?: string;
  /** Certificate revocation lists from `sslcrl` and `sslcrldir`, parsed. */
  readonly crl?: readonly RevocationList[];
}

const PATH = "database.postgres";
const CERT_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;
const KEY_BLOCK = /-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----[\s\S]*?-----END \1PRIVATE KEY-----/;
const CRL_BLOCK = /-----BEGIN X509 CRL-----[\s\S]*?-----END X509 CRL-----/g;

/**
 * Reads and checks the TLS material `config` names. Throws one `ConfigError` listing every problem:
 * a missing or unreadable file, PEM that does not parse, a key that is encrypted without `sslpassword`,
 * does not decrypt, or does not match `sslcert`. Never puts a key or a password in a message.
 *
 * @example
 * ```ts ignore
 * const material = await loadTlsMaterial(config); // ConfigError naming database.postgres.sslrootcert, ...
 * tls.connect({ socket, ca: material.ca === "system" ? undefined : [...material.ca ?? []] });
 * ```
 */
export async function loadTlsMaterial(config: DatabaseConfig): Promise<TlsMaterial> {
  const issues: ConfigIssue[] = [];
  const issue = (key: string, message: string) =>
    issues.push({ path: `${PATH}.${key}`, message, source: config.sources[key] });

  let ca: string[] | "system" | undefined;
  if (config.sslrootcert === "system") ca = "system";
  else if (config.sslrootcert !== undefined) {
    const text = await readPem("sslrootcert", config.sslrootcert, issue);
    if (text !== undefined) ca = parseCertificates("sslrootcert", text, issue)?.map((c) => c.toString());
  }

  const crl: RevocationList[] = [];
  if (config.sslcrl !== undefined) {
    const text = await readPem("sslcrl", config.sslcrl, issue);
    if (text !== undefined) crl.push(...parseCrls("sslcrl", crlBlocks("sslcrl", text, issue), issue));
  }
  if (config.sslcrldir !== undefined) {
    crl.push(...parseCrls("sslcrldir", await readCrlDir(config.sslcrldir, issue), issue));
  }

  // sslcertmode=disable: the client certificate is never presented, so never read, as in libpq.
  const certificate = config.sslcertmode === "disable" ? undefined : config.sslcert;
  const privateKey = config.sslcertmode === "disable" ? undefined : config.sslkey;
  let cert: string | undefined;
  let leaf: X509Certificate | undefined;
  if (certificate !== undefined) {
    const text = await readPem("sslcert", certificate, issue);
    const chain = text === undefined ? undefined : parseCertificates("sslcert", text, issue);
    if (chain) {
      leaf = chain[0];
      cert = chain.map((c) => c.toString()).join("");
    }
  }

  let key: KeyObject | undefined;
  if (privateKey !== undefined) {
    const text = await readPem("sslkey", privateKey.reveal(), issue, true);
    if (text !== undefined) key = parseKey(text, config.sslpassword, issue);
  }

  if (certificate !== undefined && privateKey === undefined) {
    issue("sslkey", "is required with sslcert (the client certificate's private key: a file path or PEM)");
  }
  if (privateKey !== undefined && certificate === undefined) {
    issue("sslcert", "is required with sslkey (the client certificate: a file path or PEM)");
  }
  if (leaf && key && !leaf.checkPrivateKey(key)) {
    issue("sslkey", `does not match the certificate in sslcert (${leaf.subject.replaceAll("\n", ", ")})`);
  }
  if (issues.length) throw new ConfigError(issues);
  return {
    ca,
    cert,
    key: key ? new Secret(key.export({ type: "pkcs8", format: "pem" }) as string) : undefined,
    certSubject: leaf?.subject.replaceAll("\n", ", "),
    crl: crl.length ? crl : undefined,
  };
}

function parseCrls(key: string, blocks: string[], issue: (key: string, message: string) => void): RevocationList[] {
  const out: RevocationList[] = [];
  for (const [i, block] of blocks.entries()) {
    try {
      out.push(parseCrl(block));
    } catch {
      issue(key, `revocation list ${i + 1} of ${blocks.length} does not parse`);
    }
  }
  return out;
}

function crlBlocks(key: string, text: string, issue: (key: string, message: string) => void): string[] {
  const blocks = text.match(CRL_BLOCK) ?? [];
  if (blocks.length === 0) issue(key, "holds no PEM revocation list (expected -----BEGIN X509 CRL-----)");
  return blocks;
}

/** Every PEM revocation list in the files of `dir` (libpq reads OpenSSL's hashed names; any name is taken here). */
async function readCrlDir(dir: string, issue: (key: string, message: string) => void): Promise<string[]> {
  try {
    const fs = await import("node:fs/promises");
    const out: string[] = [];
    for (const name of (await fs.readdir(dir)).sort()) {
      const text = await fs.readFile(`${dir}/${name}`, "utf8").catch(() => "");
      out.push(...(text.match(CRL_BLOCK) ?? []));
    }
    if (out.length === 0) issue("sslcrldir", `directory ${JSON.stringify(dir)} holds no PEM revocation list`);
    return out;
  } catch (error) {
    issue(
      "sslcrldir",
      `directory ${JSON.stringify(dir)} cannot be read: ${(error as { code?: string })?.code ?? error}`,
    );
    return [];
  }
}

/** Inline PEM as is, else the file it names. `secret`: the value is a secret, so the path is not printed either. */
async function readPem(
  key: string,
  value: string,
  issue: (key: string, message: string) => void,
  secret = false,
): Promise<string | undefined> {
  if (value.includes("-----BEGIN ")) return value;
  const what = secret ? "the file it names" : `file ${JSON.stringify(value)}`;
  if (value.trim() === "") {
    issue(key, "is empty: expected a file path or PEM text");
    return undefined;
  }
  const read = await fileReader();
  if (!read) {
    issue(key, `is a file path, but this runtime cannot read files: pass the PEM text instead`);
    return undefined;
  }
  try {
    return await read(value);
  } catch (error) {
    const code = (error as { code?: string })?.code;
    const name = (error as Error)?.name;
    if (code === "ENOENT" || name === "NotFound") issue(key, `${what} does not exist`);
    else if (code === "EACCES" || code === "EPERM" || name === "PermissionDenied") {
      issue(key, `${what} cannot be read: permission denied`);
    } else if (code === "EISDIR" || name === "IsADirectory") issue(key, `${what} is a directory, not a PEM file`);
    else issue(key, `${what} cannot be read: ${code ?? (error as Error)?.message ?? error}`);
    return undefined;
  }
}

function parseCertificates(
  key: string,
  text: string,
  issue: (key: string, message: string) => void,
): X509Certificate[] | undefined {
  const blocks = text.match(CERT_BLOCK) ?? [];
  if (blocks.length === 0) {
    issue(key, "holds no PEM certificate (expected -----BEGIN CERTIFICATE-----)");
    return undefined;
  }
  const certs: X509Certificate[] = [];
  for (const [i, block] of blocks.entries()) {
    try {
      certs.push(new X509Certificate(block));
    } catch (error) {
      const which = blocks.length === 1 ? "the certificate" : `certificate ${i + 1} of ${blocks.length}`;
      issue(key, `${which} does not parse: ${(error as Error)?.message ?? error}`);
    }
  }
  return certs.length === blocks.length ? certs : undefined;
}

function parseKey(
  text: string,
  password: Secret | undefined,
  issue: (key: string, message: string) => void,
): KeyObject | undefined {
  const block = KEY_BLOCK.exec(text)?.[0];
  if (!block) {
    issue("sslkey", "holds no PEM private key (expected -----BEGIN PRIVATE KEY----- or similar)");
    return undefined;
  }
  const encrypted = block.startsWith("-----BEGIN ENCRYPTED") || /Proc-Type:\s*4,\s*ENCRYPTED/.test(block);
  if (encrypted && password === undefined) {
    issue("sslpassword", "is required: sslkey is encrypted");
    return undefined;
  }
  try {
    return createPrivateKey(encrypted ? { key: block, format: "pem", passphrase: password!.reveal() } : block);
  } catch (error) {
    // OpenSSL's reasons ("bad decrypt", "unsupported") never quote the key or the passphrase.
    const reason = String((error as Error)?.message ?? error).replace(/^error:[0-9A-F]+:[^:]*:/i, "");
    if (encrypted && /bad decrypt/i.test(reason)) issue("sslpassword", "does not decrypt sslkey (wrong password)");
    else if (encrypted) issue("sslkey", `is encrypted in a way this runtime cannot decrypt: ${reason}`);
    else issue("sslkey", `does not parse as a private key: ${reason}`);
    return undefined;
  }
}

/** `readFile` of `node:fs/promises`, imported on first use; undefined where the runtime has no files. */
async function fileReader(): Promise<((path: string) => Promise<string>) | undefined> {
  try {
    const fs = await import("node:fs/promises");
    return typeof fs.readFile === "function" ? (path) => fs.readFile(path, "utf8") : undefined;
  } catch {
    return undefined;
  }
}
