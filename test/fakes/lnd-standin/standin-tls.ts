// STAND-IN LND (test double, not LND): a self-signed TLS certificate like the one LND writes to tls.cert
// (ECDSA P-256, valid for localhost and 127.0.0.1), generated at test time with the openssl command line
// (Node's crypto can make keys but not certificates). Tests that need it skip with a SKIP line when openssl
// is missing.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface StandinTls {
  /** PEM, as LND's tls.cert. */
  certPem: string;
  keyPem: string;
}

export function opensslAvailable(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export function createStandinTls(commonName = 'lnd-standin'): StandinTls {
  const directory = mkdtempSync(join(tmpdir(), 'lnd-standin-tls-'));
  try {
    const keyPath = join(directory, 'tls.key');
    const certPath = join(directory, 'tls.cert');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        keyPath,
        '-out',
        certPath,
        '-days',
        '2',
        '-subj',
        `/O=lnd stand-in/CN=${commonName}`,
        '-addext',
        'subjectAltName=DNS:localhost,IP:127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
    return { certPem: readFileSync(certPath, 'utf8'), keyPem: readFileSync(keyPath, 'utf8') };
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}
