// A real Prometheus (the Debian package's /usr/bin/prometheus) for tests of the alert gates: started on a free
// loopback port with an alerting-rules file the test writes, evaluating every second; setRules rewrites the file
// and reloads it (POST /-/reload, --web.enable-lifecycle), so an alert can start and stop firing. Kured reads the
// ALERTS series of such a Prometheus (kured pkg/alerts/prometheus.go).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface AlertRule {
  alert: string;
  expr: string;
  /** how long the expression must hold before the alert fires (pending until then); default 0s */
  for?: string;
}

export interface TestPrometheus {
  url: string;
  setRules(rules: AlertRule[]): Promise<void>;
  /** Alert names and states in ALERTS right now. */
  alerts(): Promise<Array<{ alertname: string; alertstate: string }>>;
  /** Waits until ALERTS holds exactly these name=state pairs (sorted). */
  untilAlerts(want: string[], timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolvePromise(port));
    });
  });
}

function rulesYaml(rules: AlertRule[]): string {
  const body = rules.map((r) => `      - alert: ${r.alert}\n        expr: ${JSON.stringify(r.expr)}\n        for: ${r.for ?? '0s'}\n        labels: { severity: test }`).join('\n');
  return `groups:\n  - name: tests\n    interval: 1s\n    rules:\n${rules.length ? body : '      []'}\n`.replace('rules:\n      []', 'rules: []');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startPrometheus(rules: AlertRule[]): Promise<TestPrometheus> {
  const dir = mkdtempSync(join(tmpdir(), 'kubectl-redis-prometheus-'));
  const rulesFile = join(dir, 'rules.yml');
  writeFileSync(rulesFile, rulesYaml(rules));
  writeFileSync(join(dir, 'prometheus.yml'), `global:\n  evaluation_interval: 1s\n  scrape_interval: 1m\nrule_files:\n  - ${rulesFile}\n`);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let log = '';
  const child: ChildProcess = spawn(
    'prometheus',
    [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--web.enable-lifecycle', '--log.level=warn'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  child.stderr?.on('data', (c: Buffer) => (log = (log + c.toString()).slice(-4000)));
  let exited = false;
  child.on('exit', () => (exited = true));
  const stop = async () => {
    if (!exited) {
      child.kill('SIGTERM');
      for (let i = 0; i < 50 && !exited; i++) await sleep(100);
      if (!exited) child.kill('SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (exited) throw new Error(`prometheus exited at start: ${log}`);
    const ok = await fetch(`${url}/-/ready`).then((r) => r.ok, () => false);
    if (ok) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`prometheus did not become ready on ${url}: ${log}`);
    }
    await sleep(200);
  }
  const alerts = async () => {
    const r = await fetch(`${url}/api/v1/query?query=ALERTS`);
    const body = (await r.json()) as { data: { result: Array<{ metric: { alertname: string; alertstate: string } }> } };
    return body.data.result.map((x) => ({ alertname: x.metric.alertname, alertstate: x.metric.alertstate }));
  };
  return {
    url,
    async setRules(next) {
      writeFileSync(rulesFile, rulesYaml(next));
      const r = await fetch(`${url}/-/reload`, { method: 'POST' });
      if (!r.ok) throw new Error(`prometheus reload failed: ${r.status} ${await r.text()}`);
    },
    alerts,
    async untilAlerts(want, timeoutMs = 30_000) {
      const until = Date.now() + timeoutMs;
      const target = [...want].sort().join(' ');
      let now = '';
      while (Date.now() < until) {
        now = (await alerts()).map((a) => `${a.alertname}=${a.alertstate}`).sort().join(' ');
        if (now === target) return;
        await sleep(250);
      }
      throw new Error(`ALERTS never became [${target}] (it is [${now}]): ${log}`);
    },
    stop,
  };
}
