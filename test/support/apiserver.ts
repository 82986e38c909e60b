// A lone sandbox API server (no controllers, no kubelets) with a TLS kubeconfig for one admin user, and the real
// kubectl pointed at it: what the sandbox's kubectl-fidelity and API-semantics tests both start from.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store } from '../../sandbox/core/store.js';
import { ensureTls } from '../../sandbox/core/tls.js';
import { startApiServer, writeKubeconfig, type ApiServer } from '../../sandbox/apiserver/index.js';
import { run, type RunResult } from './sandbox.js';

export interface KubectlApi {
  dir: string;
  server: ApiServer;
  /** KUBECONFIG (and a discovery cache of its own) for the admin user */
  env: NodeJS.ProcessEnv;
  kubectl(args: string[], input?: string): Promise<RunResult>;
  /** kubectl that must succeed; its stdout */
  ok(args: string[], input?: string): Promise<string>;
  stop(): Promise<void>;
}

/** `name` names the temporary directory and the admin user (`<name>-admin`). */
export async function startKubectlApi(name: string): Promise<KubectlApi> {
  const dir = mkdtempSync(join(tmpdir(), `${name}-`));
  const tls = ensureTls(dir);
  writeFileSync(join(dir, 'tokens.csv'), `${name}-admin,admin,admin,"system:masters"\n`);
  const server = await startApiServer({
    ctx: { name: 'east', index: 0, podNetPrefix: '127.10', store: new Store(), dir, storageDir: join(dir, 'storage'), nodeNames: [], log: () => undefined },
    tls,
    tokenFile: join(dir, 'tokens.csv'),
  });
  writeKubeconfig(join(dir, 'kubeconfig'), [{ name: 'east', server: server.url }], tls.caCert, `${name}-admin`);
  const env = { ...process.env, KUBECONFIG: join(dir, 'kubeconfig'), KUBECACHEDIR: join(dir, 'cache') };
  const kubectl = (args: string[], input?: string): Promise<RunResult> => run('kubectl', args, { env, input, timeoutMs: 20_000 });
  return {
    dir, server, env, kubectl,
    async ok(args, input) {
      const r = await kubectl(args, input);
      assert.equal(r.code, 0, `kubectl ${args.join(' ')} failed: ${r.stderr}`);
      return r.stdout;
    },
    async stop() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
