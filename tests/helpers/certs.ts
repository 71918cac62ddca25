/**
 * Test certificates made with the `openssl` CLI (3.x) at test time: EC P-256 keys, ~50 ms in all.
 *
 * | name | subject | SAN | signed by |
 * |---|---|---|---|
 * | `ca` | CN=dewey test CA | | itself |
 * | `otherCa` | CN=dewey other CA | | itself (unrelated to `ca`) |
 * | `server` | CN=localhost | DNS:localhost, IP:127.0.0.1, IP:::1 | `ca` |
 * | `serverOther` | CN=other.example | DNS:other.example | `ca` (name mismatch for localhost) |
 * | `serverFromOtherCa` | CN=localhost | DNS:localhost, IP:127.0.0.1, IP:::1 | `otherCa` |
 * | `client` | CN=postgres | | `ca` (for `cert` auth) |
 * | `clientOtherCa` | CN=postgres | | `otherCa` |
 * | `clientEncrypted` | the `client` certificate; its key encrypted (PKCS#8, AES-256) with `passphrase` | | `ca` |
 *
 * All keys are 0600. When running as root, the server keys (`server*`) are owned by `postgres` (so
 * `ssl_key_file` can point at them) and a directory we create is 0755 (so the server can reach the files).
 *
 * @example
 * ```ts ignore
 * await using certs = await makeCerts();
 * await using pg = await startCluster({
 *   settings: { ssl: true, ssl_cert_file: certs.server.certPath, ssl_key_file: certs.server.keyPath },
 * });
 * ```
 * @module
 */

/** A certificate and its private key, as files and as PEM text. */
export interface CertKey {
  /** Path of the PEM certificate. */
  certPath: string;
  /** Path of the PEM private key (PKCS#8). */
  keyPath: string;
  /** PEM certificate. */
  cert: string;
  /** PEM private key. */
  key: string;
}

/** A certificate whose key is encrypted. */
export interface EncryptedCertKey extends CertKey {
  /** Passphrase of {@linkcode CertKey.key}. */
  passphrase: string;
}

/** Everything {@linkcode makeCerts} made. Dispose of it to delete the files. */
export interface Certs extends AsyncDisposable {
  /** Directory holding the files. */
  dir: string;
  /** Root CA. */
  ca: CertKey;
  /** A second root CA, unrelated to {@linkcode ca}. */
  otherCa: CertKey;
  /** Server certificate for localhost / 127.0.0.1 / ::1, signed by {@linkcode ca}. */
  server: CertKey;
  /** Server certificate for other.example only, signed by {@linkcode ca}: a host name mismatch. */
  serverOther: CertKey;
  /** Server certificate for localhost / 127.0.0.1 / ::1 signed by {@linkcode otherCa}: an untrusted issuer. */
  serverFromOtherCa: CertKey;
  /** Client certificate CN=postgres signed by {@linkcode ca}. */
  client: CertKey;
  /** Client certificate CN=postgres signed by {@linkcode otherCa}. */
  clientOtherCa: CertKey;
  /** {@linkcode client}'s certificate with its key encrypted by `passphrase`. */
  clientEncrypted: EncryptedCertKey;
  /** Deletes the files (and the directory if {@linkcode makeCerts} created it). Safe to call twice. */
  destroy(): Promise<void>;
}

const OPENSSL_CNF = `# made by tests/helpers/certs.ts
[req]
distinguished_name = dn
prompt = no
[dn]
[ca_ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1, IP:::1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[other_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:other.example
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[client_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
`;

async function openssl(dir: string, args: string[], env: Record<string, string> = {}): Promise<void> {
  const out = await new Deno.Command("openssl", {
    args,
    cwd: dir,
    env: { OPENSSL_CONF: `${dir}/openssl.cnf`, ...env },
    stdin: "null",
  }).output();
  if (out.code !== 0) {
    throw new Error(`openssl ${args.join(" ")} failed (exit ${out.code}): ${new TextDecoder().decode(out.stderr)}`);
  }
}

const EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-sha256", "-days", "3650"];

/** Self-signed CA: `name.crt`, `name.key`. */
function makeCa(dir: string, name: string, cn: string): Promise<void> {
  return openssl(dir, [
    "req",
    "-x509",
    "-new",
    "-config",
    "openssl.cnf",
    "-extensions",
    "ca_ext",
    ...EC,
    "-subj",
    `/CN=${cn}`,
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.crt`,
  ]);
}

/** Leaf signed by CA `ca`: `name.crt`, `name.key`. */
function makeLeaf(dir: string, name: string, cn: string, ext: string, ca: string): Promise<void> {
  return openssl(dir, [
    "req",
    "-x509",
    "-new",
    "-config",
    "openssl.cnf",
    "-extensions",
    ext,
    "-CA",
    `${ca}.crt`,
    "-CAkey",
    `${ca}.key`,
    ...EC,
    "-subj",
    `/CN=${cn}`,
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.crt`,
  ]);
}

async function postgresIds(): Promise<[number, number] | undefined> {
  if (Deno.uid() !== 0) return undefined;
  const id = async (flag: string) => {
    const out = await new Deno.Command("id", { args: [flag, "postgres"], stdin: "null" }).output();
    return out.code === 0 ? Number(new TextDecoder().decode(out.stdout).trim()) : NaN;
  };
  const [uid, gid] = await Promise.all([id("-u"), id("-g")]);
  return Number.isFinite(uid) && Number.isFinite(gid) ? [uid, gid] : undefined;
}

/**
 * Makes a CA, a second unrelated CA and server/client certificates (see the module doc) with `openssl`.
 * @param dir directory to write into (created if missing); default: a new temp directory.
 */
export async function makeCerts(dir?: string): Promise<Certs> {
  let created = false;
  if (dir === undefined) {
    dir = await Deno.makeTempDir({ prefix: "dewey-certs-", dir: Deno.uid() === 0 ? "/tmp" : undefined });
    created = true;
  } else {
    try {
      await Deno.mkdir(dir);
      created = true;
    } catch (e) {
      if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
    }
  }
  dir = await Deno.realPath(dir);
  const root = dir;
  const names = ["ca", "other-ca", "server", "server-other", "server-from-other-ca", "client", "client-other-ca"];
  const written = [
    `${root}/openssl.cnf`,
    `${root}/client-encrypted.key`,
    ...names.flatMap((n) => [`${root}/${n}.crt`, `${root}/${n}.key`]),
  ];
  const destroy = async () => {
    if (created) await Deno.remove(root, { recursive: true }).catch(() => {});
    else for (const f of written) await Deno.remove(f).catch(() => {});
  };
  try {
    if (created) await Deno.chmod(root, 0o755);
    await Deno.writeTextFile(`${root}/openssl.cnf`, OPENSSL_CNF);
    await Promise.all([makeCa(root, "ca", "dewey test CA"), makeCa(root, "other-ca", "dewey other CA")]);
    await Promise.all([
      makeLeaf(root, "server", "localhost", "server_ext", "ca"),
      makeLeaf(root, "server-other", "other.example", "other_ext", "ca"),
      makeLeaf(root, "server-from-other-ca", "localhost", "server_ext", "other-ca"),
      makeLeaf(root, "client", "postgres", "client_ext", "ca"),
      makeLeaf(root, "client-other-ca", "postgres", "client_ext", "other-ca"),
    ]);
    const passphrase = `dewey-${crypto.randomUUID()}`;
    await openssl(root, [
      "pkey",
      "-in",
      "client.key",
      "-aes256",
      "-passout",
      "env:DEWEY_KEY_PASSPHRASE",
      "-out",
      "client-encrypted.key",
    ], { DEWEY_KEY_PASSPHRASE: passphrase });

    const ids = await postgresIds();
    const load = async (name: string, keyName = name): Promise<CertKey> => {
      const certPath = `${root}/${name}.crt`;
      const keyPath = `${root}/${keyName}.key`;
      await Deno.chmod(certPath, 0o644);
      await Deno.chmod(keyPath, 0o600);
      if (ids && keyName.startsWith("server")) await Deno.chown(keyPath, ids[0], ids[1]);
      const [cert, key] = await Promise.all([Deno.readTextFile(certPath), Deno.readTextFile(keyPath)]);
      return { certPath, keyPath, cert, key };
    };
    const certs: Certs = {
      dir: root,
      ca: await load("ca"),
      otherCa: await load("other-ca"),
      server: await load("server"),
      serverOther: await load("server-other"),
      serverFromOtherCa: await load("server-from-other-ca"),
      client: await load("client"),
      clientOtherCa: await load("client-other-ca"),
      clientEncrypted: { ...(await load("client", "client-encrypted")), passphrase },
      destroy,
      [Symbol.asyncDispose]: destroy,
    };
    return certs;
  } catch (e) {
    await destroy();
    throw e;
  }
}
