// The doctor's TLS step, and the doctor and a real connection agreeing on TLS: sslrootcert=system (the
// runtime's trust store, given our test CA through DENO_CERT or not), a certificate for another name, an
// untrusted chain. The cases run in subprocesses so that the trust store is the one the process starts
// with; the doctor's verdict and the connection's come from the same process.
import assert from "node:assert/strict";
import { type CertKey, makeCerts } from "./helpers/certs.ts";
import { type Cluster, startCluster } from "./helpers/cluster.ts";

const ROOT = new URL("..", import.meta.url).pathname;

/** Runs `runDoctor(url)` and `validateConnection()` on `url` in one process; prints one JSON line per URL. */
const PROBE = `
import { formatReport, runDoctor } from "${ROOT}doctor/mod.ts";
import { DatabaseConnection } from "${ROOT}mod.ts";
for (const url of JSON.parse(Deno.args[0])) {
  const report = await runDoctor(url, { env: {}, samples: 1 });
  const tls = report.hosts[0]?.steps.find((s) => s.name === "tls");
  const db = new DatabaseConnection(url, { logger: false });
  let connection;
  try {
    await db.validateConnection();
    connection = { ok: true, tls: (await db.health()).tls };
  } catch (error) {
    connection = { ok: false, code: error.code };
  } finally {
    await db.close();
  }
  console.log(JSON.stringify({ url, doctor: { ok: report.ok, tls, text: formatReport(report) }, connection }));
}
`;

interface Verdict {
  url: string;
  doctor: {
    ok: boolean;
    tls?: { status: string; code?: string; detail: string; cause?: string; data?: Record<string, unknown> };
    /** The text report, wrapped lines joined back. */
    text: string;
  };
  connection: { ok: boolean; code?: string; tls?: { enabled: boolean; protocol?: string } };
}

async function verdicts(urls: string[], env: Record<string, string>): Promise<Verdict[]> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["eval", PROBE, JSON.stringify(urls)],
    env: { NO_COLOR: "1", ...env },
    stdin: "null",
  }).output();
  const out = new TextDecoder().decode(stdout);
  assert.equal(code, 0, out + new TextDecoder().decode(stderr));
  return out.trim().split("\n").map((line) => {
    const v = JSON.parse(line);
    v.doctor.text = v.doctor.text.replace(/\n( {13}| {11}| {4})(?=\S)/g, " ");
    return v;
  });
}

/** Swaps the server's certificate and waits until new connections get it. */
async function serveCertificate(pg: Cluster, cert: CertKey): Promise<void> {
  await pg.configure({ settings: { ssl_cert_file: cert.certPath, ssl_key_file: cert.keyPath } });
  await pg.reload();
  // The postmaster loads the new TLS context with the rest of the configuration, before it forks new backends.
  for (let i = 0; (await pg.psql("SHOW ssl_cert_file")) !== cert.certPath; i++) {
    if (i > 500) throw new Error("the server did not reload");
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Both say the same: ok with the same TLS, or the same failure code, which the doctor reports at its TLS step. */
function agree(v: Verdict, expected: { ok: true } | { ok: false; code: string }) {
  const where = `${v.url}: ${JSON.stringify(v)}`;
  assert.equal(v.connection.ok, expected.ok, where);
  assert.equal(v.doctor.ok, expected.ok, where);
  if (expected.ok) {
    assert.equal(v.doctor.tls?.status, "ok", where);
    assert.equal(v.doctor.tls?.data?.chain, "verified", where);
    assert.equal(v.doctor.tls?.data?.hostname, "verified", where);
    assert.equal(v.connection.tls?.enabled, true, where);
    assert.equal(v.doctor.tls?.data?.protocol, v.connection.tls?.protocol, where);
  } else {
    assert.equal(v.connection.code, expected.code, where);
    assert.equal(v.doctor.tls?.status, "fail", where);
    assert.equal(v.doctor.tls?.code, expected.code, where);
  }
}

Deno.test("doctor: the TLS step reports what the adapter verified, and agrees with a real connection", async () => {
  await using certs = await makeCerts();
  await using pg = await startCluster({
    settings: { ssl: true, ssl_cert_file: certs.server.certPath, ssl_key_file: certs.server.keyPath },
  });
  const url = (host: string, params: string) =>
    `postgres://postgres@${host}:${pg.port}/postgres?connect_timeout=5&health_check_interval=0&${params}`;
  const system = url("localhost", "sslrootcert=system");
  const ownRoot = url("127.0.0.1", `sslmode=verify-full&sslrootcert=${certs.ca.certPath}`);
  const wrongRoot = url("127.0.0.1", `sslmode=verify-full&sslrootcert=${certs.otherCa.certPath}`);
  const trusting = { DENO_CERT: certs.ca.certPath };

  // Our CA in the runtime's store: verify-full (raised from the default sslmode by sslrootcert=system) passes.
  const [withCa, good] = await verdicts([system, ownRoot], trusting);
  agree(withCa, { ok: true });
  assert.equal(withCa.doctor.tls?.data?.roots, "system");
  assert.equal(withCa.doctor.tls?.data?.sslmode, "verify-full");
  assert.match(withCa.doctor.tls?.detail ?? "", /trusted by the runtime's trust store, issued for localhost/);
  agree(good, { ok: true });
  assert.match(
    good.doctor.text,
    /✓ tls {6}TLSv1\.[23], \S+; certificate CN=localhost for localhost, 127\.0\.0\.1, ::1, /,
  );
  assert.match(
    good.doctor.text,
    /issued by CN=dewey test CA, expires \d{4}-\d\d-\d\d \(in \d+ days\); trusted, issued for 127\.0\.0\.1/,
  );
  assert.match(good.doctor.text, /✓ server {3}PostgreSQL \d+.*, TLS TLSv1\.[23]/);

  // Not in the store, or a root that did not sign the server's certificate: both refuse the chain.
  const [withoutCa, wrong] = await verdicts([system, wrongRoot], {});
  agree(withoutCa, { ok: false, code: "SSL_CERT_UNTRUSTED" });
  assert.equal(withoutCa.doctor.tls?.data?.chainError, "UNABLE_TO_VERIFY_LEAF_SIGNATURE");
  assert.match(withoutCa.doctor.tls?.cause ?? "", /not signed by a root in the runtime's trust store/);
  agree(wrong, { ok: false, code: "SSL_CERT_UNTRUSTED" });
  assert.match(wrong.doctor.text, /✗ tls .*not trusted \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\)/);
  assert.match(
    wrong.doctor.text,
    /cause: the server's certificate, issued by CN=dewey test CA, is not signed by a root in/,
  );
  assert.match(wrong.doctor.text, /fix: {3}set sslrootcert to the CA certificate that issued/);
  assert.doesNotMatch(wrong.doctor.text, /auth {5}/);

  // A certificate for other.example only: the name and the address dialled both mismatch.
  await serveCertificate(pg, certs.serverOther);
  const [name, address] = await verdicts([system, ownRoot], trusting);
  agree(name, { ok: false, code: "SSL_CERT_NAME_MISMATCH" });
  agree(address, { ok: false, code: "SSL_CERT_IP_MISMATCH" });
  const tls = address.doctor.tls!;
  assert.equal(tls.data?.subject, "CN=other.example");
  assert.equal(tls.data?.chain, "verified");
  assert.equal(tls.data?.hostname, "failed");
  assert.match(tls.cause ?? "", /the server's certificate is for other\.example, not 127\.0\.0\.1/);
});
