// `npm run demo`: the README's first command. Brings up the sandbox's demo preset in a temporary directory (an OT
// RedisCluster, a spotahome RedisFailover and a Bitnami redis-cluster in namespace redis, real redis-server
// processes behind a simulated API server), then walks through the plugin as a list of narrated steps, and tears
// everything down at the end, on failure, and on Ctrl-C / SIGTERM, leaving no process behind.
//
//   npm run demo              run the tour, then tear down
//   npm run demo -- --keep    leave the sandbox up and print the KUBECONFIG line to use it
//
// To extend the tour, append a Step to STEPS: a title, a sentence saying what it shows, and what it runs.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

interface Demo {
  dir: string;
  kubeconfig: string;
  env: NodeJS.ProcessEnv;
  /** Run a command with the sandbox's KUBECONFIG, echoing it and (unless quiet) its output as it comes. */
  run(cmd: string, args: string[], opts?: { quiet?: boolean; timeoutMs?: number }): Promise<Result>;
  /** `kubectl redis ARGS`, through bin/run.js (the built bundle, or the sources through tsx). */
  plugin(args: string[], opts?: { quiet?: boolean; timeoutMs?: number }): Promise<Result>;
  kubectl(args: string[], opts?: { quiet?: boolean; timeoutMs?: number }): Promise<Result>;
  /** `npm run sandbox -- ARGS` against this sandbox's directory. */
  sandbox(args: string[], opts?: { quiet?: boolean; timeoutMs?: number }): Promise<Result>;
}

interface Step {
  title: string;
  /** What the step shows, printed before it runs. */
  explain: string;
  run(d: Demo): Promise<void>;
}

const must = (r: Result, what: string): Result => {
  if (r.code !== 0) throw new Error(`${what} failed (exit ${r.code})${r.stderr.trim() ? `: ${r.stderr.trim().split('\n').slice(-5).join('\n')}` : ''}`);
  return r;
};

const STEPS: Step[] = [
  {
    title: 'Bring up the sandbox',
    explain: 'Two simulated Kubernetes clusters, east and west (3 nodes each, one flat pod network, shared storage), with the demo preset in east: OT RedisCluster orders, spotahome RedisFailover sessions and the Bitnami redis-cluster cache, in namespace redis, each running real redis-server processes.',
    async run(d) {
      must(await d.sandbox(['up', '--clusters', 'east,west', '--preset', 'demo', '--detach'], { quiet: true, timeoutMs: 600_000 }), 'sandbox up');
      console.log(`\n    export KUBECONFIG=${d.kubeconfig}`);
    },
  },
  {
    title: 'What runs there',
    explain: 'The plain kubectl view: the operators\' custom resources and the pods they made.',
    async run(d) {
      must(await d.kubectl(['get', 'redisclusters,redisfailovers,statefulsets', '-n', 'redis']), 'kubectl get');
    },
  },
  {
    title: 'kubectl redis status',
    explain: 'Every Redis target in the namespace, whichever operator or chart runs it, and its health as Redis itself reports it.',
    async run(d) {
      must(await d.plugin(['status', '-n', 'redis'], { timeoutMs: 120_000 }), 'kubectl redis status');
    },
  },
  {
    title: 'kubectl redis pause',
    explain: 'Stop the OT operator reconciling orders before touching it, with who, why and until when on record (old => new, then the patch).',
    async run(d) {
      must(await d.plugin(['pause', 'rediscluster/orders', '-n', 'redis', '--reason', 'demo: repairing after a restart', '--for', '1h', '--yes']), 'pause');
      must(await d.kubectl(['get', 'events', '-n', 'redis', '--field-selector', 'reason=ReconcilePaused']), 'kubectl get events');
    },
  },
  {
    title: 'A fault: every pod of orders restarts at once',
    explain: 'Each pod comes back with a new IP while every nodes.conf still lists the old ones: the cluster cannot find itself (OT#145, #1782). status shows it.',
    async run(d) {
      must(await d.kubectl(['delete', 'pod', '-n', 'redis', '-l', 'app in (orders-leader,orders-follower)', '--wait=false']), 'kubectl delete pod');
      // kubectl wait would catch the old pods while they terminate: poll until six new ones are Ready
      const deadline = Date.now() + 120_000;
      for (;;) {
        const r = await d.kubectl(['get', 'pods', '-n', 'redis', '-l', 'app in (orders-leader,orders-follower)', '-o', 'jsonpath={range .items[*]}{.metadata.deletionTimestamp}/{.status.conditions[?(@.type=="Ready")].status} {end}'], { quiet: true });
        const states = r.stdout.trim().split(/\s+/).filter(Boolean);
        if (states.length === 6 && states.every((x) => x === '/True')) break;
        if (Date.now() > deadline) throw new Error('the orders pods did not come back Ready within 2 minutes');
        await new Promise((res) => setTimeout(res, 1000));
      }
      await new Promise((r) => setTimeout(r, 2000));
      const r = await d.plugin(['status', 'rediscluster/orders', '-n', 'redis'], { timeoutMs: 120_000 });
      if (r.code !== 0) throw new Error(`status failed (exit ${r.code})`);
    },
  },
  {
    title: 'kubectl redis report',
    explain: 'Before fixing anything, keep the evidence: one zip with orders\' objects (Secrets without their values), Events, status, every node\'s CLUSTER NODES / INFO / CONFIG GET * / SLOWLOG and the last 10 minutes of logs, and manifest.json saying what was collected.',
    async run(d) {
      const file = join(d.dir, 'orders-report.zip');
      must(await d.plugin(['report', 'rediscluster/orders', '-n', 'redis', '--logs', '--since', '10m', '--output-file', file], { timeoutMs: 300_000 }), 'report');
      const list = must(await d.run('unzip', ['-l', file], { quiet: true }), 'unzip -l').stdout.trimEnd().split('\n');
      console.log([...list.slice(0, 4), '    ...', ...list.filter((l) => /orders-leader-0\//.test(l)), '    ...', ...list.slice(-2)].join('\n'));
    },
  },
  {
    title: 'kubectl redis heal',
    explain: 'Observe every node\'s own view, plan (MEET the new addresses, then replication and labels), apply one phase per round, until redis-cli --cluster check would pass.',
    async run(d) {
      must(await d.plugin(['heal', 'rediscluster/orders', '-n', 'redis', '--yes'], { timeoutMs: 300_000 }), 'heal');
      must(await d.plugin(['status', '-n', 'redis'], { timeoutMs: 120_000 }), 'status');
    },
  },
  {
    title: 'kubectl redis resume',
    explain: 'Undo exactly what pause did; the operator reconciles again.',
    async run(d) {
      must(await d.plugin(['resume', 'rediscluster/orders', '-n', 'redis', '--yes']), 'resume');
    },
  },
  {
    title: 'kubectl redis failover',
    explain: 'A planned switchover of sessions: the candidates and how far behind each is, then writes paused on the master, SENTINEL FAILOVER steered to the most in-sync replica on another node (replica-priority 0 on the others meanwhile, restored after), every sentinel agreeing.',
    async run(d) {
      must(await d.plugin(['failover', 'rf/sessions', '-n', 'redis', '--dry-run']), 'failover --dry-run');
      must(await d.plugin(['failover', 'rf/sessions', '-n', 'redis', '--yes'], { timeoutMs: 180_000 }), 'failover');
    },
  },
  {
    title: 'kubectl redis restart',
    explain: 'A rolling restart of orders: replicas first, each master after a CLUSTER FAILOVER, the OT operator paused meanwhile and resumed after; each pod waited for until it has its node id back, is in sync and every node agrees.',
    async run(d) {
      must(await d.plugin(['restart', 'rediscluster/orders', '-n', 'redis', '--yes'], { timeoutMs: 600_000 }), 'restart');
      must(await d.plugin(['status', 'rediscluster/orders', '-n', 'redis'], { timeoutMs: 120_000 }), 'status');
    },
  },
  {
    title: 'kubectl redis drain-reboot',
    explain: 'Reboot east-node-2 the safe way: cordon (with our mark), move every Redis master off it first, evict like kubectl drain, wait, re-check that nobody uncordoned it meanwhile (seed 004), reboot, new bootID, uncordon, wait until Redis is healthy.',
    async run(d) {
      must(await d.plugin(['drain-reboot', 'east-node-2', '--delay', '2s', '--delete-emptydir-data', '--yes'], { timeoutMs: 600_000 }), 'drain-reboot');
      must(await d.kubectl(['get', 'nodes']), 'kubectl get nodes');
    },
  },
  {
    title: 'kubectl redis migrate',
    explain: 'Move the Bitnami cluster cache from east to west one pod at a time with StatefulSet ordinals.start (seed 003): failover, Retain, scale down, copy PV/PVC, adopt in west with the same node id.',
    async run(d) {
      must(await d.plugin(['migrate', 'sts/cache', '-n', 'redis', '--to-context', 'west', '--yes'], { timeoutMs: 600_000 }), 'migrate');
      must(await d.plugin(['status', 'sts/cache', '-n', 'redis', '--context', 'west'], { timeoutMs: 120_000 }), 'status in west');
    },
  },
];

const children = new Set<ChildProcess>();

function runCommand(cmd: string, args: string[], env: NodeJS.ProcessEnv, opts: { quiet?: boolean; timeoutMs?: number } = {}): Promise<Result> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
      if (!opts.quiet) process.stdout.write(c);
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
      if (!opts.quiet) process.stderr.write(c);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      children.delete(child);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      children.delete(child);
      resolvePromise({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
  });
}

async function main(): Promise<number> {
  const { values } = parseArgs({ args: process.argv.slice(2), options: { keep: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } }, strict: true });
  if (values.help) {
    console.log('usage: npm run demo [-- --keep]\n  --keep  leave the sandbox up at the end and print the KUBECONFIG line');
    return 0;
  }
  const dir = mkdtempSync(join(tmpdir(), 'kubectl-redis-demo-'));
  const kubeconfig = join(dir, 'kubeconfig');
  const env: NodeJS.ProcessEnv = { ...process.env, KUBECONFIG: kubeconfig };
  const tsx = ['--import', 'tsx'];
  const echo = (cmd: string, args: string[]) => console.log(`\n    $ ${[cmd, ...args].join(' ')}`);
  const d: Demo = {
    dir,
    kubeconfig,
    env,
    run: (cmd, args, opts) => {
      echo(cmd, args);
      return runCommand(cmd, args, env, opts);
    },
    plugin: (args, opts) => {
      echo('kubectl redis', args);
      return runCommand(process.execPath, [join(ROOT, 'bin/run.js'), ...args], env, opts);
    },
    kubectl: (args, opts) => d.run('kubectl', args, opts),
    sandbox: (args, opts) => {
      echo('npm run sandbox --', [...args, '--dir', dir]);
      return runCommand(process.execPath, [...tsx, join(ROOT, 'sandbox/cli.ts'), ...args, '--dir', dir], env, opts);
    },
  };

  let tornDown: Promise<void> | undefined;
  const teardown = (): Promise<void> => (tornDown ??= tearDown());
  const tearDown = async (): Promise<void> => {
    for (const c of children) if (c.pid) c.kill('SIGTERM');
    console.log('\n==> Tearing the sandbox down');
    const r = await runCommand(process.execPath, [...tsx, join(ROOT, 'sandbox/cli.ts'), 'down', '--dir', dir], env, { quiet: true, timeoutMs: 60_000 });
    if (r.code !== 0) console.error(`sandbox down failed (exit ${r.code}): ${r.stderr.trim()}`);
    else {
      try {
        rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
      } catch (e) {
        console.error(`could not remove ${dir}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  };
  let interrupted: string | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (interrupted) return;
    interrupted = signal;
    console.error(`\n${signal}: stopping the demo`);
    void teardown().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  // the step that was running when a signal came may end (and main return) before the teardown it started is done
  const exitCode = async (code: number): Promise<number> => {
    if (interrupted) {
      await teardown();
      return interrupted === 'SIGINT' ? 130 : 143;
    }
    return code;
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);

  const started = Date.now();
  let ok = false;
  try {
    for (const [i, step] of STEPS.entries()) {
      if (interrupted) return await exitCode(1);
      const t = Date.now();
      console.log(`\n==> [${i + 1}/${STEPS.length}] ${step.title}`);
      console.log(`    ${step.explain}`);
      await step.run(d);
      console.log(`    (${((Date.now() - t) / 1000).toFixed(1)} s)`);
    }
    ok = true;
    console.log(`\n==> Demo done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return 0;
  } catch (e) {
    if (interrupted) return await exitCode(1);
    console.error(`\ndemo failed: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  } finally {
    if (ok && values.keep && !interrupted) {
      console.log(`\nThe sandbox is still up (its files are in ${dir}). Use it with:\n\n    export KUBECONFIG=${kubeconfig}\n\nand stop it with:\n\n    npm run sandbox -- down --dir ${dir}\n`);
    } else if (!interrupted) {
      await teardown();
    }
  }
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(`demo: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  },
);
