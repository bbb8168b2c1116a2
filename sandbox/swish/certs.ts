// The Swish sandbox's own PKI, standing in for the banks' and Swish's: a test CA, a server
// certificate for 127.0.0.1/localhost and a merchant client certificate whose common name is the
// merchant's Swish number (as in Swish's test certificate `…_1234679304.p12`). Generated once into a
// directory (by default `.data/swish-sandbox/`) and reused while it is valid, so `npm start` can
// hand the file paths to the Swish client configuration.
import { createPrivateKey, generateKeyPairSync, randomBytes, X509Certificate } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import forge from 'node-forge';

export const DEFAULT_SANDBOX_PAYEE_ALIAS = '1234679304';

export interface SwishCertificateSet {
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

export interface SwishSandboxCerts extends SwishCertificateSet {
  payeeAlias: string;
  /** Files holding the same PEMs (written by ensureSwishSandboxCerts). */
  paths: { ca: string; serverCert: string; serverKey: string; clientCert: string; clientKey: string };
}

export interface GenerateOptions {
  payeeAlias?: string;
  /** DNS names and IP addresses the server certificate is valid for. */
  hosts?: readonly string[];
  validDays?: number;
}

const DEFAULT_HOSTS = ['127.0.0.1', 'localhost', '::1'];
const FILES = {
  ca: 'ca.pem',
  caKey: 'ca-key.pem',
  serverCert: 'server.pem',
  serverKey: 'server-key.pem',
  clientCert: 'client.pem',
  clientKey: 'client-key.pem',
  meta: 'meta.json',
} as const;
const META_VERSION = 1;

function newKeyPair(): { privatePem: string; publicKey: forge.pki.rsa.PublicKey; privateKey: forge.pki.rsa.PrivateKey } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const privatePem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  return {
    privatePem,
    privateKey: forge.pki.privateKeyFromPem(privatePem) as forge.pki.rsa.PrivateKey,
    publicKey: forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString()) as forge.pki.rsa.PublicKey,
  };
}

function issue(options: {
  subject: forge.pki.CertificateField[];
  publicKey: forge.pki.rsa.PublicKey;
  issuer?: { cert: forge.pki.Certificate; key: forge.pki.rsa.PrivateKey };
  selfKey?: forge.pki.rsa.PrivateKey;
  extensions: object[];
  validDays: number;
}): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = options.publicKey;
  // A positive serial: the leading byte stays below 0x80.
  cert.serialNumber = `0${randomBytes(16).toString('hex').slice(1)}`;
  cert.validity.notBefore = new Date(Date.now() - 5 * 60_000);
  cert.validity.notAfter = new Date(Date.now() + options.validDays * 86_400_000);
  cert.setSubject(options.subject);
  cert.setIssuer(options.issuer ? options.issuer.cert.subject.attributes : options.subject);
  cert.setExtensions(options.extensions);
  cert.sign(options.issuer?.key ?? options.selfKey!, forge.md.sha256.create());
  return cert;
}

const isIp = (host: string) => /^[\d.]+$/.test(host) || host.includes(':');

/** A fresh CA, server and merchant client certificate (RSA 2048, SHA-256), in memory. */
export function generateSwishCertificates(options: GenerateOptions = {}): SwishCertificateSet {
  const payeeAlias = options.payeeAlias ?? DEFAULT_SANDBOX_PAYEE_ALIAS;
  const hosts = options.hosts ?? DEFAULT_HOSTS;
  const validDays = options.validDays ?? 825;

  const caKeys = newKeyPair();
  const caCert = issue({
    subject: [
      { name: 'commonName', value: 'Skerry Swish Sandbox Root CA' },
      { name: 'organizationName', value: 'Skerry sandbox' },
    ],
    publicKey: caKeys.publicKey,
    selfKey: caKeys.privateKey,
    validDays: validDays + 1,
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
      { name: 'subjectKeyIdentifier' },
    ],
  });
  const issuer = { cert: caCert, key: caKeys.privateKey };

  const serverKeys = newKeyPair();
  const serverCert = issue({
    subject: [
      { name: 'commonName', value: hosts.find((host) => !isIp(host)) ?? 'localhost' },
      { name: 'organizationName', value: 'Skerry Swish sandbox' },
    ],
    publicKey: serverKeys.publicKey,
    issuer,
    validDays,
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: hosts.map((host) => (isIp(host) ? { type: 7, ip: host } : { type: 2, value: host })) },
      { name: 'subjectKeyIdentifier' },
    ],
  });

  const clientKeys = newKeyPair();
  const clientCert = issue({
    subject: [
      { name: 'commonName', value: payeeAlias },
      { name: 'organizationName', value: 'Skerry Swish sandbox merchant' },
    ],
    publicKey: clientKeys.publicKey,
    issuer,
    validDays,
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', clientAuth: true },
      { name: 'subjectKeyIdentifier' },
    ],
  });

  const caPem = forge.pki.certificateToPem(caCert);
  return {
    caCert: caPem,
    caKey: caKeys.privatePem,
    serverCert: forge.pki.certificateToPem(serverCert),
    serverKey: serverKeys.privatePem,
    // The merchant presents its certificate with its chain, as Swish's PEM bundles do.
    clientCert: `${forge.pki.certificateToPem(clientCert)}${caPem}`,
    clientKey: clientKeys.privatePem,
  };
}

interface Meta {
  version: number;
  payeeAlias: string;
  hosts: string[];
}

function stillValid(set: SwishCertificateSet, payeeAlias: string): boolean {
  try {
    const ca = new X509Certificate(set.caCert);
    const server = new X509Certificate(set.serverCert);
    const client = new X509Certificate(set.clientCert);
    const soon = Date.now() + 7 * 86_400_000;
    return (
      [ca, server, client].every((cert) => Date.parse(cert.validTo) > soon) &&
      server.verify(ca.publicKey) &&
      client.verify(ca.publicKey) &&
      server.checkPrivateKey(createPrivateKey(set.serverKey)) &&
      client.checkPrivateKey(createPrivateKey(set.clientKey)) &&
      client.subject.split('\n').includes(`CN=${payeeAlias}`)
    );
  } catch {
    return false;
  }
}

async function readSet(dir: string): Promise<(SwishCertificateSet & { meta: Meta }) | undefined> {
  try {
    const read = (name: string) => readFile(join(dir, name), 'utf8');
    const [caCert, caKey, serverCert, serverKey, clientCert, clientKey, meta] = await Promise.all([
      read(FILES.ca),
      read(FILES.caKey),
      read(FILES.serverCert),
      read(FILES.serverKey),
      read(FILES.clientCert),
      read(FILES.clientKey),
      read(FILES.meta),
    ]);
    return { caCert, caKey, serverCert, serverKey, clientCert, clientKey, meta: JSON.parse(meta) as Meta };
  } catch {
    return undefined;
  }
}

async function writeAtomically(path: string, content: string, mode: number): Promise<void> {
  const temporary = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(temporary, content, { mode });
  await rename(temporary, path);
}

/** A lock file so two processes starting together do not write a mixed set. */
async function withLock<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  const lockPath = join(dir, '.lock');
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const handle = await open(lockPath, 'wx');
      await handle.close();
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const age = await stat(lockPath).then(
        (info) => Date.now() - info.mtimeMs,
        () => 0,
      );
      if (age > 60_000) await rm(lockPath, { force: true });
      else if (Date.now() > deadline) throw new Error(`Swish sandbox certificates: ${lockPath} is held by another process`);
      else await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  try {
    return await fn();
  } finally {
    await rm(lockPath, { force: true });
  }
}

/**
 * The sandbox certificates in `dir`: read when present and valid for `payeeAlias` and the hosts,
 * generated (and written, keys with mode 0600) otherwise.
 */
export async function ensureSwishSandboxCerts(dir: string, options: GenerateOptions = {}): Promise<SwishSandboxCerts> {
  const payeeAlias = options.payeeAlias ?? DEFAULT_SANDBOX_PAYEE_ALIAS;
  const hosts = [...(options.hosts ?? DEFAULT_HOSTS)];
  const paths = {
    ca: join(dir, FILES.ca),
    serverCert: join(dir, FILES.serverCert),
    serverKey: join(dir, FILES.serverKey),
    clientCert: join(dir, FILES.clientCert),
    clientKey: join(dir, FILES.clientKey),
  };
  const usable = (set: Awaited<ReturnType<typeof readSet>>): set is SwishCertificateSet & { meta: Meta } =>
    set !== undefined &&
    set.meta.version === META_VERSION &&
    set.meta.payeeAlias === payeeAlias &&
    hosts.every((host) => set.meta.hosts.includes(host)) &&
    stillValid(set, payeeAlias);

  const cached = await readSet(dir);
  if (usable(cached)) return { ...strip(cached), payeeAlias, paths };

  await mkdir(dir, { recursive: true });
  return withLock(dir, async () => {
    const again = await readSet(dir);
    if (usable(again)) return { ...strip(again), payeeAlias, paths };
    const set = generateSwishCertificates({ ...options, payeeAlias, hosts });
    await writeAtomically(join(dir, FILES.caKey), set.caKey, 0o600);
    await writeAtomically(join(dir, FILES.serverKey), set.serverKey, 0o600);
    await writeAtomically(join(dir, FILES.clientKey), set.clientKey, 0o600);
    await writeAtomically(paths.ca, set.caCert, 0o644);
    await writeAtomically(paths.serverCert, set.serverCert, 0o644);
    await writeAtomically(paths.clientCert, set.clientCert, 0o644);
    // The meta file last: a set without it is never taken as complete.
    await writeAtomically(join(dir, FILES.meta), JSON.stringify({ version: META_VERSION, payeeAlias, hosts } satisfies Meta, null, 2), 0o644);
    return { ...set, payeeAlias, paths };
  });
}

function strip(set: SwishCertificateSet & { meta: Meta }): SwishCertificateSet {
  const { meta: _meta, ...rest } = set;
  return rest;
}
