// The sandbox's TLS material: one CA and one server certificate for 127.0.0.1/localhost, made once per sandbox
// directory with the openssl CLI (as kubeadm would make them for a real control plane).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TlsMaterial {
  caCert: string;
  cert: string;
  key: string;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'], timeout: 30_000 });
}

/** Create (or reuse) DIR/pki/{ca.crt,ca.key,server.crt,server.key}. */
export function ensureTls(dir: string): TlsMaterial {
  const pki = join(dir, 'pki');
  const files = ['ca.crt', 'server.crt', 'server.key'].map((f) => join(pki, f));
  if (!files.every((f) => existsSync(f))) {
    mkdirSync(pki, { recursive: true });
    openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '3650', '-subj', '/CN=kubernetes-sandbox-ca'], pki);
    writeFileSync(
      join(pki, 'server.ext'),
      ['basicConstraints=CA:FALSE', 'keyUsage=digitalSignature,keyEncipherment', 'extendedKeyUsage=serverAuth', 'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default'].join('\n') + '\n',
    );
    openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=kube-apiserver'], pki);
    openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '3650', '-extfile', 'server.ext'], pki);
  }
  const [caCert, cert, key] = files.map((f) => readFileSync(f, 'utf8'));
  return { caCert, cert, key };
}
