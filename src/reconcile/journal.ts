// Progress of a multi-step operation, kept on the cluster (a ConfigMap through JournalBackend) so that the same
// command run again resumes where it stopped, and two operations on one target refuse each other.
// Like a controller-runtime reconciler, nothing is remembered in memory between runs: the journal is the state.
import { RefusedError } from '../errors.js';

export type JournalState = 'running' | 'aborting' | 'done' | 'aborted' | 'failed';

export interface StepRecord {
  status: 'started' | 'done';
  at: string;
  detail?: string;
}

export interface JournalDoc {
  operation: string;
  id: string;
  /** What it works on, as the user named it (e.g. "redis/sts/cache" or "node/east-node-2"). */
  target: string;
  /** user@host of whoever started or last resumed it. */
  holder: string;
  startedAt: string;
  updatedAt: string;
  state: JournalState;
  /** The arguments it was started with, so a re-run can refuse different ones. */
  args: Record<string, unknown>;
  steps: Record<string, StepRecord>;
  /** Facts learned on the way that later steps need (old replica counts, whether a node was cordoned before...). */
  facts: Record<string, unknown>;
  error?: string;
}

/** Where journals live. `version` is an opaque optimistic-concurrency token (a resourceVersion). */
export interface JournalBackend {
  load(name: string): Promise<{ doc: JournalDoc; version: string } | undefined>;
  /** Create (version undefined) or replace; throws JournalConflict when someone else wrote in between. */
  save(name: string, doc: JournalDoc, version: string | undefined): Promise<string>;
  remove(name: string): Promise<void>;
}

export class JournalConflict extends Error {}

export interface OpenOptions {
  operation: string;
  target: string;
  holder: string;
  args: Record<string, unknown>;
  newId: () => string;
  now: () => Date;
  /** --abort: open the existing journal to walk back. */
  abort?: boolean;
}

/** Test hook (reliability suite): `KUBECTL_REDIS_DIE_AFTER_STEP=<step id>` kills the process right after that step is recorded. */
const DIE_AFTER = 'KUBECTL_REDIS_DIE_AFTER_STEP';

export class Journal {
  private constructor(
    private readonly backend: JournalBackend,
    readonly name: string,
    private doc: JournalDoc,
    private version: string | undefined,
    private readonly now: () => Date,
    /** true when this run continues an earlier one */
    readonly resumed: boolean,
  ) {}

  /**
   * Open the journal of `name`: a new one when none exists (or the last one finished), the existing one when it is
   * the same operation on the same target (resume), and a refusal when another operation holds the target.
   */
  static async open(backend: JournalBackend, name: string, opts: OpenOptions): Promise<Journal> {
    const found = await backend.load(name);
    const live = found && (found.doc.state === 'running' || found.doc.state === 'aborting' || found.doc.state === 'failed');
    if (found && live) {
      const d = found.doc;
      if (d.operation !== opts.operation || d.target !== opts.target) {
        throw new RefusedError(
          `${d.target} is in the middle of ${d.operation} ${d.id} started by ${d.holder} at ${d.startedAt}; finish it (re-run it) or abort it first`,
        );
      }
      const differs = Object.entries(opts.args).filter(([k, v]) => JSON.stringify(d.args[k]) !== JSON.stringify(v) && v !== undefined);
      if (differs.length > 0 && !opts.abort) {
        throw new RefusedError(
          `${d.operation} ${d.id} on ${d.target} was started with ${differs.map(([k]) => `${k}=${JSON.stringify(d.args[k])}`).join(', ')}; re-run it with the same arguments to resume, or --abort it`,
        );
      }
      const j = new Journal(backend, name, structuredClone(d), found.version, opts.now, true);
      j.doc.holder = opts.holder;
      if (opts.abort) j.doc.state = 'aborting';
      else if (j.doc.state === 'failed') j.doc.state = 'running';
      delete j.doc.error;
      await j.flush();
      return j;
    }
    if (opts.abort) throw new RefusedError(`there is no ${opts.operation} in progress on ${opts.target} to abort`);
    const at = opts.now().toISOString();
    const doc: JournalDoc = {
      operation: opts.operation, id: opts.newId(), target: opts.target, holder: opts.holder,
      startedAt: at, updatedAt: at, state: 'running', args: opts.args, steps: {}, facts: {},
    };
    const j = new Journal(backend, name, doc, found?.version, opts.now, false);
    await j.flush();
    return j;
  }

  get id(): string {
    return this.doc.id;
  }
  get state(): JournalState {
    return this.doc.state;
  }
  get snapshot(): JournalDoc {
    return structuredClone(this.doc);
  }

  isDone(step: string): boolean {
    return this.doc.steps[step]?.status === 'done';
  }

  /** The step was begun but not recorded done: its action may or may not have happened, so it must be re-checked. */
  wasStarted(step: string): boolean {
    return this.doc.steps[step]?.status === 'started';
  }

  fact<T>(key: string): T | undefined {
    return this.doc.facts[key] as T | undefined;
  }

  async setFact(key: string, value: unknown): Promise<void> {
    this.doc.facts[key] = value;
    await this.flush();
  }

  async started(step: string, detail?: string): Promise<void> {
    this.doc.steps[step] = { status: 'started', at: this.now().toISOString(), detail };
    await this.flush();
  }

  async done(step: string, detail?: string): Promise<void> {
    this.doc.steps[step] = { status: 'done', at: this.now().toISOString(), detail };
    await this.flush();
    if (process.env[DIE_AFTER] === step) process.kill(process.pid, 'SIGKILL');
  }

  /** Forget that a step was done (abort walks back through steps). */
  async undone(step: string): Promise<void> {
    delete this.doc.steps[step];
    await this.flush();
  }

  async finish(state: 'done' | 'aborted'): Promise<void> {
    this.doc.state = state;
    await this.flush();
  }

  async fail(error: string): Promise<void> {
    this.doc.state = 'failed';
    this.doc.error = error;
    await this.flush();
  }

  private async flush(): Promise<void> {
    this.doc.updatedAt = this.now().toISOString();
    this.version = await this.backend.save(this.name, this.doc, this.version);
  }
}
