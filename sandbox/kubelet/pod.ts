// One pod on one node: its sandbox (IP, volumes), init containers, containers as host processes restarted per
// restartPolicy with back-off, readiness/liveness probes, the pod status the real kubelet reports, and graceful
// termination (SIGTERM, SIGKILL after the grace period, then the final delete with grace 0).
import { createHash, randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { ClusterContext } from '../core/context.js';
import { StoreError, type KObject } from '../core/store.js';
import { mutate, now, obj, recordEvent, setCondition, stableJson, type Condition, type Obj } from '../controllers/util.js';
import { containerEnv, expand, type ContainerSpec, type Probe } from './env.js';
import { mountsOf, prepareVolumes, toHost, translateWord, VolumeNotReady, type Mount } from './volumes.js';
import { planContainer, type ContainerPlan } from './images/index.js';
import { signalGroup, spawnTracked, type Tracked } from './proc.js';
import { clusterRecords, inPodNamespace, podHostsText, resolveName, writeInPlace } from './dns.js';
import { onHostPath } from './images/generic.js';

export interface NodeHost {
  ctx: ClusterContext;
  node: string;
  hostIP(): string;
  shimDir: string;
  hostsFile: string;
  pidsDir: string;
  clusterDir: string;
  /** Pods get their own /etc/hosts (a mount namespace per pod, see dns.ts); false: not root, names are rewritten to IPs. */
  clusterDns: boolean;
  allocateIP(): string;
  /** The node is hung or rebooting: no probes, no status writes. */
  paused(): boolean;
  reboot(): void;
}

type State = { waiting: { reason: string; message?: string } } | { running: { startedAt: string } } | { terminated: TerminatedState };
interface TerminatedState {
  exitCode: number;
  reason: string;
  startedAt?: string;
  finishedAt: string;
  containerID?: string;
  signal?: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function imageID(image: string): string {
  const ref = image.includes('/') || image.includes('.') ? image : `docker.io/library/${image}`;
  return `${ref.replace(/:[^/:@]*$/, '')}@sha256:${createHash('sha256').update(image).digest('hex')}`;
}

/** Send PING (after AUTH when a password is known); any RESP reply means the server answers. */
export function redisAnswers(ip: string, port: number, password: string | undefined, timeoutMs = 1000, tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer }): Promise<boolean> {
  return new Promise((resolve) => {
    // with TLS: the CA verifies the chain; the name is not checked, as redis-cli --tls in the chart's probe scripts
    // (ping_readiness_local.sh, -h localhost) does not check it either
    const s = tls ? tlsConnect({ host: ip, port, ...tls, checkServerIdentity: () => undefined }) : connect({ host: ip, port });
    const ready = tls ? 'secureConnect' : 'connect';
    const done = (ok: boolean): void => {
      clearTimeout(t);
      s.destroy();
      resolve(ok);
    };
    const t = setTimeout(() => done(false), timeoutMs);
    s.on('error', () => done(false));
    s.on(ready, () => s.write(password ? `AUTH ${JSON.stringify(password)}\r\nPING\r\n` : 'PING\r\n'));
    let buf = '';
    s.on('data', (d: Buffer) => {
      buf += d.toString();
      if (/^[+-]/.test(buf) && buf.includes('\r\n')) done(true);
    });
  });
}

function tcpOpen(ip: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: ip, port });
    const t = setTimeout(() => {
      s.destroy();
      resolve(false);
    }, timeoutMs);
    s.on('connect', () => {
      clearTimeout(t);
      s.destroy();
      resolve(true);
    });
    s.on('error', () => {
      clearTimeout(t);
      resolve(false);
    });
  });
}

export class ContainerRunner {
  restartCount = 0;
  state: State = { waiting: { reason: 'ContainerCreating' } };
  lastState: { terminated?: TerminatedState } = {};
  ready = false;
  started = false;
  proc?: Tracked;
  plan?: ContainerPlan;
  processEnv: Record<string, string> = {};
  mounts: Mount[] = [];
  containerID = '';
  /** Set when the kubelet itself stops the process (termination, reboot): no restart follows. */
  private stopping = false;
  private startedAtMs = 0;
  private backoffMs = 1000;
  private runs = 0;
  private generation = 0;

  constructor(
    readonly pod: PodWorker,
    readonly spec: ContainerSpec,
    readonly init: boolean,
  ) {}

  get running(): boolean {
    return 'running' in this.state;
  }

  /** Start (or restart) the process. Resolves once it is spawned (or failed to). */
  async start(restart: boolean): Promise<void> {
    const w = this.pod;
    const gen = ++this.generation;
    this.stopping = false;
    const podObj = w.current();
    if (!podObj) return;
    let env: Record<string, string>;
    try {
      env = containerEnv(w.host.ctx.store, podObj, this.spec);
    } catch (e) {
      this.state = { waiting: { reason: 'CreateContainerConfigError', message: e instanceof Error ? e.message : String(e) } };
      w.dirty();
      setTimeout(() => {
        if (gen === this.generation && !this.stopping && !w.terminating) void this.start(restart);
      }, 2000);
      return;
    }
    this.mounts = mountsOf(this.spec, w.volumes);
    const runDir = join(w.podDir, 'run', String(w.sandbox), this.spec.name);
    mkdirSync(runDir, { recursive: true, mode: 0o700 });
    const command = this.spec.command?.map((c) => expand(c, env));
    const args = this.spec.args?.map((c) => expand(c, env));
    const plan = planContainer({
      store: w.host.ctx.store,
      pod: podObj,
      container: this.spec,
      podIP: w.podIP,
      env,
      command,
      args,
      mounts: this.mounts,
      rootfs: w.rootfs,
      nodeRoot: join(w.host.clusterDir, 'nodes', w.host.node, 'root'),
      runDir,
      restart,
      rewriteHostnames: !w.host.clusterDns,
      // the pod's own names (its hostname, and hostname.subdomain... through its headless Service) are itself,
      // also before its IP reaches the store
      resolve: (name) => (name === 'localhost' || name === '127.0.0.1' || name === w.name || isOwnFqdn(name, w.name, String((podObj.spec as { subdomain?: string } | undefined)?.subdomain ?? ''))
        ? w.podIP
        : resolveName(w.host.ctx.store, w.ns, name)),
      log: (m) => w.host.ctx.log(`${w.ns}/${w.name}/${this.spec.name}: ${m}`),
    });
    this.plan = plan;
    this.processEnv = {
      ...env,
      ...(plan.env ?? {}),
      PATH: `${w.host.shimDir}:${process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin'}`,
      HOME: join(w.rootfs, 'root'),
      HOSTNAME: String(obj(podObj.spec).hostname ?? w.name),
      SANDBOX_POD_IP: w.podIP,
      SANDBOX_POD_NAMESPACE: w.ns,
      SANDBOX_HOSTS: w.host.hostsFile,
    };
    mkdirSync(join(w.rootfs, 'root'), { recursive: true });
    try {
      await plan.prepare?.();
    } catch (e) {
      w.host.ctx.log(`${w.ns}/${w.name}/${this.spec.name}: start-up script failed: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (gen !== this.generation || this.stopping || w.terminating) return;
    const cwd = plan.cwd ?? (this.spec.workingDir ? toHost(this.mounts, w.rootfs, this.spec.workingDir) : (this.mounts.find((m) => m.path === '/data')?.host ?? w.rootfs));
    if (w.host.clusterDns) w.writeHosts(clusterRecords(w.host.ctx.store));
    const argv = w.host.clusterDns ? inPodNamespace(w.hostsFile, plan.argv) : plan.argv;
    const proc = spawnTracked(w.host.pidsDir, argv, { env: this.processEnv, cwd, logFile: w.logFile(this.spec.name) });
    this.proc = proc;
    this.containerID = `containerd://${randomBytes(32).toString('hex')}`;
    const startedAt = now();
    this.startedAtMs = Date.now();
    this.state = { running: { startedAt } };
    this.started = true;
    this.runs++;
    w.dirty();
    if (this.runs === 1 || !restart) recordEvent(w.host.ctx, podObj, 'Normal', 'Started', `Started container ${this.spec.name}`, 'kubelet');
    void proc.exited.then((code) => this.exited(proc, code, startedAt, gen));
    if (plan.rebootNode) setTimeout(() => w.host.reboot(), 200);
    if (!this.init) {
      void this.readinessLoop(gen);
      if (this.spec.livenessProbe) void this.livenessLoop(gen);
    }
  }

  private exited(proc: Tracked, code: number, startedAt: string, gen: number): void {
    if (this.proc !== proc) return;
    this.proc = undefined;
    this.ready = false;
    const w = this.pod;
    const term: TerminatedState = { exitCode: code, reason: code === 0 ? 'Completed' : code === 137 && this.stopping ? 'Error' : 'Error', startedAt, finishedAt: now(), containerID: this.containerID };
    if (this.stopping || w.terminating || gen !== this.generation) {
      this.state = { terminated: term };
      w.dirty();
      return;
    }
    w.host.ctx.log(`${w.ns}/${w.name}/${this.spec.name}: exited with code ${code}`);
    const policy = w.restartPolicy;
    const restart = !this.init ? policy === 'Always' || (policy === 'OnFailure' && code !== 0) : code !== 0 && policy !== 'Never';
    if (!restart) {
      this.state = { terminated: term };
      w.dirty();
      w.onContainerDone(this);
      return;
    }
    this.lastState = { terminated: term };
    if (Date.now() - this.startedAtMs > 30_000) this.backoffMs = 1000;
    const delay = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, 20_000);
    this.state = { waiting: { reason: delay > 1000 ? 'CrashLoopBackOff' : 'ContainerCreating', ...(delay > 1000 ? { message: `back-off ${Math.round(delay / 1000)}s restarting failed container=${this.spec.name} pod=${w.name}_${w.ns}(${w.uid})` } : {}) } };
    w.dirty();
    setTimeout(() => {
      if (gen !== this.generation || this.stopping || w.terminating || w.host.paused()) {
        if (w.host.paused() && gen === this.generation && !this.stopping && !w.terminating) this.exited(proc, code, startedAt, gen);
        return;
      }
      this.restartCount++;
      if (this.init) w.dirty();
      void this.start(true).then(() => {
        if (this.init) w.onInitRestarted(this);
      });
    }, delay);
  }

  private async probe(p: Probe): Promise<boolean> {
    const w = this.pod;
    const timeoutMs = Math.max(2, p.timeoutSeconds ?? 1) * 1000;
    if (p.exec?.command && p.exec.command.length > 0) {
      const argv = p.exec.command.map((x) => translateWord(this.mounts, expand(x, this.processEnv)));
      const bin = onHostPath(argv[0], this.processEnv.PATH);
      if (!bin) return false;
      const t = spawnTracked(w.host.pidsDir, [bin, ...argv.slice(1)], { env: this.processEnv, cwd: w.rootfs });
      const timer = setTimeout(() => signalGroup(t.pid, 'SIGKILL'), timeoutMs);
      const code = await t.exited;
      clearTimeout(timer);
      return code === 0;
    }
    const port = p.tcpSocket?.port ?? p.grpc?.port;
    if (port !== undefined) {
      const n = typeof port === 'number' ? port : (this.spec.ports ?? []).find((x) => x.name === port)?.containerPort;
      if (n === undefined) return false;
      return tcpOpen(w.podIP, n, timeoutMs);
    }
    return true; // httpGet: nothing serves HTTP here; count it as passing
  }

  private alive(gen: number): boolean {
    return gen === this.generation && !this.stopping && !this.pod.terminating && this.running;
  }

  private async readinessLoop(gen: number): Promise<void> {
    const w = this.pod;
    const p = this.spec.readinessProbe;
    if (!p) {
      const port = this.plan?.pingPort;
      while (this.alive(gen)) {
        if (!w.frozen && !w.host.paused()) {
          const ok = port === undefined ? true : await redisAnswers(w.podIP, port, this.plan?.pingPassword, 1000, this.plan?.pingTls);
          if (ok && this.alive(gen)) {
            this.ready = true;
            w.dirty();
            return;
          }
        }
        await sleep(300);
      }
      return;
    }
    await sleep((p.initialDelaySeconds ?? 0) * 1000);
    let ok = 0;
    let bad = 0;
    let everReady = false;
    while (this.alive(gen)) {
      if (!w.frozen && !w.host.paused()) {
        const pass = await this.probe(p);
        if (!this.alive(gen)) return;
        if (pass) {
          bad = 0;
          ok++;
          if (ok >= (p.successThreshold ?? 1) && !this.ready) {
            this.ready = true;
            everReady = true;
            w.dirty();
          }
        } else {
          ok = 0;
          bad++;
          if (bad >= (p.failureThreshold ?? 3) && this.ready) {
            this.ready = false;
            w.dirty();
          }
        }
      }
      await sleep(everReady ? (p.periodSeconds ?? 10) * 1000 : Math.min(1000, (p.periodSeconds ?? 10) * 1000));
    }
  }

  private async livenessLoop(gen: number): Promise<void> {
    const p = this.spec.livenessProbe;
    if (!p) return;
    const w = this.pod;
    await sleep((p.initialDelaySeconds ?? 0) * 1000);
    let bad = 0;
    while (this.alive(gen)) {
      if (!w.frozen && !w.host.paused()) {
        const pass = await this.probe(p);
        if (!this.alive(gen)) return;
        bad = pass ? 0 : bad + 1;
        if (bad >= (p.failureThreshold ?? 3)) {
          const podObj = w.current();
          if (podObj) recordEvent(w.host.ctx, podObj, 'Normal', 'Killing', `Container ${this.spec.name} failed liveness probe, will be restarted`, 'kubelet');
          if (this.proc) signalGroup(this.proc.pid, 'SIGKILL');
          return;
        }
      }
      await sleep((p.periodSeconds ?? 10) * 1000);
    }
  }

  /** Stop the process (no restart follows): SIGTERM, SIGKILL after graceMs. */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    this.generation++;
    const p = this.proc;
    if (!p) return;
    signalGroup(p.pid, 'SIGCONT');
    signalGroup(p.pid, graceMs > 0 ? 'SIGTERM' : 'SIGKILL');
    const timer = graceMs > 0 ? setTimeout(() => signalGroup(p.pid, 'SIGKILL'), graceMs) : undefined;
    await Promise.race([p.exited, sleep(graceMs + 3000)]);
    if (timer) clearTimeout(timer);
    signalGroup(p.pid, 'SIGKILL');
  }

  signal(sig: NodeJS.Signals): void {
    if (this.proc) signalGroup(this.proc.pid, sig);
  }

  status(image: string): Obj {
    return {
      name: this.spec.name,
      state: this.state,
      lastState: this.lastState,
      ready: this.ready,
      restartCount: this.restartCount,
      image,
      imageID: imageID(image),
      ...(this.containerID ? { containerID: this.containerID } : {}),
      started: this.running && this.started,
    };
  }
}

export class PodWorker {
  readonly uid: string;
  readonly ns: string;
  readonly name: string;
  podIP = '';
  startTime?: string;
  terminating = false;
  frozen = false;
  /** Bumped per pod sandbox (a reboot gives a new one). */
  sandbox = 0;
  volumes = new Map<string, { host: string; kind: string }>();
  readonly podDir: string;
  readonly rootfs: string;
  initRunners: ContainerRunner[] = [];
  runners: ContainerRunner[] = [];
  initialized = false;
  private initFailed = false;
  private dirtyTimer?: NodeJS.Timeout;
  private sandboxReady = false;

  constructor(
    readonly host: NodeHost,
    pod: KObject,
  ) {
    this.uid = pod.metadata.uid ?? '';
    this.ns = pod.metadata.namespace ?? 'default';
    this.name = pod.metadata.name;
    this.podDir = join(host.clusterDir, 'pods', `${this.ns}_${this.name}_${this.uid.slice(0, 8)}`);
    this.rootfs = join(this.podDir, 'rootfs');
    const spec = obj(pod.spec);
    this.initRunners = ((spec.initContainers ?? []) as ContainerSpec[]).map((c) => new ContainerRunner(this, c, true));
    this.runners = ((spec.containers ?? []) as ContainerSpec[]).map((c) => new ContainerRunner(this, c, false));
    this.startTime = typeof obj(pod.status).startTime === 'string' ? String(obj(pod.status).startTime) : undefined;
  }

  get restartPolicy(): string {
    return String(obj(this.current()?.spec).restartPolicy ?? 'Always');
  }

  /** The pod's /etc/hosts (bind-mounted into its processes' mount namespace), kept current by the kubelet. */
  get hostsFile(): string {
    return join(this.podDir, 'etc-hosts');
  }

  writeHosts(records: Array<[string, string]>): void {
    const spec = obj(this.current()?.spec);
    const hostname = String(spec.hostname ?? this.name);
    const subdomain = typeof spec.subdomain === 'string' && spec.subdomain ? spec.subdomain : undefined;
    writeInPlace(this.hostsFile, podHostsText(records, { namespace: this.ns, name: this.name, ip: this.podIP, hostname, subdomain }));
  }

  logFile(container: string): string {
    return join(this.host.clusterDir, 'logs', this.ns, this.name, `${container}.log`);
  }

  /** The pod as stored, if it is still this pod. */
  current(): KObject | undefined {
    const p = this.host.ctx.store.get('pods', this.ns, this.name);
    return p && p.metadata.uid === this.uid ? p : undefined;
  }

  /** Bring up a pod sandbox: new IP, volumes, init containers, containers. `restart`: after a reboot. */
  async run(afterReboot: boolean): Promise<void> {
    this.sandbox++;
    const mySandbox = this.sandbox;
    this.podIP = this.host.allocateIP();
    this.sandboxReady = true;
    this.initialized = this.initRunners.length === 0;
    this.startTime = this.startTime ?? now();
    this.dirty();
    // volumes
    for (let attempt = 0; ; attempt++) {
      if (this.terminating || mySandbox !== this.sandbox) return;
      const pod = this.current();
      if (!pod) return;
      try {
        this.volumes = prepareVolumes(this.host.ctx.store, pod, this.podDir, join(this.host.clusterDir, 'nodes', this.host.node, 'root'));
        break;
      } catch (e) {
        if (!(e instanceof VolumeNotReady) || attempt % 20 === 19) {
          const msg = e instanceof Error ? e.message : String(e);
          recordEvent(this.host.ctx, pod, 'Warning', 'FailedMount', `MountVolume.SetUp failed: ${msg}`, 'kubelet');
        }
        await sleep(e instanceof VolumeNotReady ? 250 : 2000);
      }
    }
    // init containers, one after the other
    for (const r of this.initRunners) {
      if (this.terminating || mySandbox !== this.sandbox) return;
      if (afterReboot) r.restartCount++;
      const ok = await this.runInit(r, mySandbox);
      if (!ok) return;
    }
    this.initialized = true;
    this.dirty();
    for (const r of this.runners) {
      if (this.terminating || mySandbox !== this.sandbox) return;
      if (afterReboot && r.started && this.restartPolicy !== 'Always' && 'terminated' in r.state) continue;
      if (afterReboot && r.started) r.restartCount++;
      await r.start(false);
    }
  }

  private initWaiters = new Map<ContainerRunner, (ok: boolean) => void>();

  private runInit(r: ContainerRunner, sandbox: number): Promise<boolean> {
    return new Promise((resolve) => {
      this.initWaiters.set(r, (ok) => resolve(ok && sandbox === this.sandbox && !this.terminating));
      void r.start(false);
    });
  }

  /** A container exited and will not restart (init succeeded, or a Never/OnFailure container is done). */
  onContainerDone(r: ContainerRunner): void {
    if (r.init) {
      const t = 'terminated' in r.state ? r.state.terminated : undefined;
      const ok = t?.exitCode === 0;
      if (!ok) this.initFailed = true;
      const w = this.initWaiters.get(r);
      this.initWaiters.delete(r);
      w?.(ok);
    }
    this.dirty();
  }

  onInitRestarted(_r: ContainerRunner): void {
    this.dirty();
  }

  dirty(): void {
    if (this.dirtyTimer) return;
    this.dirtyTimer = setTimeout(() => {
      this.dirtyTimer = undefined;
      this.writeStatus();
    }, 40);
  }

  phase(): string {
    if (this.initFailed) return 'Failed';
    const terms = this.runners.map((r) => ('terminated' in r.state ? r.state.terminated : undefined));
    if (this.runners.length > 0 && terms.every((t) => t) && this.restartPolicy !== 'Always') {
      return terms.every((t) => t?.exitCode === 0) ? 'Succeeded' : 'Failed';
    }
    if (this.initialized && this.runners.some((r) => r.started)) return 'Running';
    return 'Pending';
  }

  writeStatus(): void {
    if (this.host.paused()) return;
    const store = this.host.ctx.store;
    const allReady = this.runners.length > 0 && this.runners.every((r) => r.ready);
    const spec = (this.current()?.spec ?? {}) as { containers?: ContainerSpec[]; initContainers?: ContainerSpec[] };
    const imageOf = (list: ContainerSpec[] | undefined, name: string): string => list?.find((c) => c.name === name)?.image ?? '';
    const phase = this.phase();
    const desired: Obj = {
      phase,
      hostIP: this.host.hostIP(),
      hostIPs: [{ ip: this.host.hostIP() }],
      ...(this.podIP ? { podIP: this.podIP, podIPs: [{ ip: this.podIP }] } : {}),
      ...(this.startTime ? { startTime: this.startTime } : {}),
      containerStatuses: this.runners.map((r) => r.status(imageOf(spec.containers, r.spec.name))),
      ...(this.initRunners.length ? { initContainerStatuses: this.initRunners.map((r) => r.status(imageOf(spec.initContainers, r.spec.name))) } : {}),
    };
    const done = phase === 'Succeeded' || phase === 'Failed';
    mutate(
      store,
      'pods',
      this.ns,
      this.name,
      (o) => {
        if (o.metadata.uid !== this.uid) return false;
        const st = obj(o.status);
        let conds = (Array.isArray(st.conditions) ? st.conditions : []) as Condition[];
        const set = (type: string, ok: boolean, reason?: string): void => {
          conds = setCondition(conds, { type, status: ok ? 'True' : 'False', lastProbeTime: null, ...(reason && !ok ? { reason } : {}) });
        };
        set('PodReadyToStartContainers', this.sandboxReady);
        set('Initialized', this.initialized, 'ContainersNotInitialized');
        set('Ready', allReady && !done, done ? 'PodCompleted' : 'ContainersNotReady');
        set('ContainersReady', allReady && !done, done ? 'PodCompleted' : 'ContainersNotReady');
        if (!conds.some((c) => c.type === 'PodScheduled')) set('PodScheduled', true);
        const order = ['PodReadyToStartContainers', 'Initialized', 'Ready', 'ContainersReady', 'PodScheduled'];
        conds.sort((a, z) => order.indexOf(a.type) - order.indexOf(z.type));
        const next = { ...st, ...desired, conditions: conds };
        const text = stableJson(next);
        if (text === stableJson(st)) return false;
        o.status = next;
      },
      { subresource: 'status' },
    );
  }

  /** Graceful termination, then the final delete (grace 0) that removes the pod from the store. */
  async terminate(graceSeconds: number): Promise<void> {
    if (this.terminating) return;
    this.terminating = true;
    const pod = this.current();
    if (pod) for (const r of this.runners) if (r.proc) recordEvent(this.host.ctx, pod, 'Normal', 'Killing', `Stopping container ${r.spec.name}`, 'kubelet');
    await Promise.all([...this.runners, ...this.initRunners].map((r) => r.stop(graceSeconds * 1000)));
    this.cleanup();
    try {
      this.host.ctx.store.delete('pods', this.ns, this.name, { gracePeriodSeconds: 0, preconditions: { uid: this.uid } });
    } catch (e) {
      if (!(e instanceof StoreError && (e.code === 404 || e.code === 409))) throw e;
    }
  }

  /** The pod is gone from the store (force delete): kill at once. */
  async kill(): Promise<void> {
    this.terminating = true;
    await Promise.all([...this.runners, ...this.initRunners].map((r) => r.stop(0)));
    this.cleanup();
  }

  /** Reboot: every process dies now; the sandbox is rebuilt by run(true) later. */
  async crash(): Promise<void> {
    this.sandbox++;
    this.sandboxReady = false;
    await Promise.all([...this.runners, ...this.initRunners].map((r) => r.stop(0)));
    for (const r of [...this.runners, ...this.initRunners]) {
      if (r.plan?.rebootNode && 'terminated' in r.state) r.state = { terminated: { ...r.state.terminated, exitCode: 0, reason: 'Completed' } };
      else if ('terminated' in r.state && this.restartPolicy === 'Always') r.lastState = { terminated: { ...r.state.terminated, reason: 'Unknown', exitCode: 255 } };
      r.ready = false;
    }
    this.frozen = false;
    this.initialized = this.initRunners.length === 0;
  }

  signalAll(sig: NodeJS.Signals): void {
    for (const r of [...this.runners, ...this.initRunners]) r.signal(sig);
  }

  private cleanup(): void {
    if (this.dirtyTimer) clearTimeout(this.dirtyTimer);
    this.dirtyTimer = undefined;
    rmSync(this.podDir, { recursive: true, force: true });
  }
}

/** `<pod>.<subdomain>`, optionally followed by the namespace and cluster suffix. */
function isOwnFqdn(name: string, pod: string, subdomain: string): boolean {
  const [host, sub] = name.toLowerCase().replace(/\.$/, '').split('.');
  return subdomain !== '' && host === pod && sub === subdomain;
}
