/**
 * Self-signed TLS certificates made with the openssl command at test time (test use only; valid two days).
 */
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TestCertificate {
  readonly certFile: string;
  readonly keyFile: string;
  readonly certPem: string;
  readonly fingerprintSha256: string;
}

/** A key and a certificate for `hosts` (the first is the subject CN), written as `<name>.crt` / `<name>.key` in `dir`. */
export function createTestCertificate(dir: string, name: string, hosts: readonly string[]): TestCertificate {
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  execFileSync(
    'openssl',
    [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '2',
      '-keyout', keyFile, '-out', certFile,
      '-subj', `/CN=${hosts[0] ?? 'localhost'}`,
      '-addext', `subjectAltName=${hosts.map((host) => `DNS:${host}`).join(',')}`,
    ],
    { stdio: 'ignore' },
  );
  const certPem = readFileSync(certFile, 'utf8');
  return { certFile, keyFile, certPem, fingerprintSha256: new X509Certificate(certPem).fingerprint256 };
}
