// The shared part of every command: kubectl's flags, the kube client, confirmation, output, and the ONE place where
// errors become `error: <sentence>` on stderr and an exit code (ARCHITECTURE.md, "Output and exit codes").
// Heavy modules (client-node, inquirer, cli-table3, yaml) load only on the paths that use them, to keep start-up fast.
import { Command, Errors, Flags, type Interfaces } from '@oclif/core';
import { ExitCode, KubectlRedisError, RefusedError, UsageError, type ExitCodeValue } from './errors.js';
import type { ConnectOverrides } from './reconcile/session.js';
import type { KubeClient } from './kube/client.js';
import { OUTPUT_FORMATS, type OutputFormat, type OutputSpec } from './render/output.js';
import { Progress } from './render/progress.js';
import { parseDuration } from './util/duration.js';

export type BaseFlags<T extends typeof Command> = Interfaces.InferredFlags<(typeof BaseCommand)['baseFlags'] & T['flags']>;
export type BaseArgs<T extends typeof Command> = Interfaces.InferredArgs<T['args']>;

/** -A/--all-namespaces: commands that can span namespaces add it to their flags. */
export const allNamespacesFlag = Flags.boolean({
  char: 'A',
  summary: 'Look in every namespace instead of only --namespace.',
  default: false,
});

/** An error as the user sees it: one sentence, an optional hint line, the exit code. */
export interface DescribedError {
  message: string;
  hint?: string;
  exitCode: ExitCodeValue;
}

function firstLine(text: string): string {
  return text.trim().split('\n')[0]?.trim() ?? '';
}

/** Maps anything a command threw to what we print and the exit code. Pure, so it is unit tested. */
export function describeError(err: unknown): DescribedError {
  if (err instanceof KubectlRedisError) return { message: firstLine(err.message), hint: err.hint, exitCode: err.exitCode };
  const e = err as { name?: string; message?: string; parse?: unknown; flags?: string[]; oclif?: { exit?: number } } | undefined;
  if (e?.parse !== undefined && Array.isArray(e.flags) && /^Nonexistent flag/.test(e.message ?? '')) {
    return { message: `unknown flag${e.flags.length > 1 ? 's' : ''}: ${e.flags.join(', ')}`, hint: 'see --help for the flags this command takes', exitCode: ExitCode.usage };
  }
  if (err instanceof Errors.CLIError && e?.parse !== undefined) {
    // oclif wraps parse failures as "The following error occurred:\n  Missing required flag reason\nSee more help..."
    const meaningful = (e.message ?? '').split('\n').map((l) => l.trim()).filter((l) => l && !/^The following errors? occurred:?$/i.test(l) && !/^See more help/i.test(l));
    const message = firstLine(meaningful.join('\n') || e.message || '').replace(/^Unexpected argument/, 'unexpected argument').replace(/^Missing required flag:? *-*(\S+)/, 'missing required flag --$1');
    return { message, hint: 'see --help for usage', exitCode: ExitCode.usage };
  }
  if (e?.name === 'ExitPromptError' || e?.name === 'AbortPromptError') {
    return { message: 'cancelled at the confirmation prompt; nothing was changed', exitCode: ExitCode.refused };
  }
  const exit = e?.oclif?.exit;
  const exitCode: ExitCodeValue = exit === ExitCode.usage ? ExitCode.usage : ExitCode.error;
  const message = firstLine(e?.message ?? String(err)) || 'unexpected error';
  return { message, exitCode };
}

/** True when a person can answer a prompt: stdin is a terminal and this is not CI. */
export function isInteractive(stdin: { isTTY?: boolean } = process.stdin, env: NodeJS.ProcessEnv = process.env): boolean {
  const ci = env.CI !== undefined && env.CI !== '' && env.CI !== '0' && env.CI.toLowerCase() !== 'false';
  return stdin.isTTY === true && !ci;
}

export abstract class BaseCommand<T extends typeof Command> extends Command {
  static override baseFlags = {
    kubeconfig: Flags.string({ summary: 'Path to the kubeconfig file to use (default: $KUBECONFIG, then ~/.kube/config).', helpGroup: 'GLOBAL' }),
    context: Flags.string({ summary: 'The kubeconfig context to use.', helpGroup: 'GLOBAL' }),
    namespace: Flags.string({ char: 'n', summary: "Namespace to act in (default: the context's namespace, then \"default\").", helpGroup: 'GLOBAL' }),
    output: Flags.string({ char: 'o', summary: 'Output format.', options: [...OUTPUT_FORMATS], default: 'table', helpGroup: 'GLOBAL' }),
    yes: Flags.boolean({ char: 'y', summary: 'Do not ask for confirmation (needed in a non-interactive shell).', default: false, helpGroup: 'GLOBAL' }),
    'dry-run': Flags.boolean({ summary: 'Show what would be done and change nothing.', default: false, helpGroup: 'GLOBAL' }),
    verbose: Flags.boolean({ char: 'v', summary: 'Say more, and print stack traces with errors.', default: false, helpGroup: 'GLOBAL' }),
    'request-timeout': Flags.string({ summary: 'How long to wait for one API request (e.g. 30s, 1m); 0 means no limit.', default: '0', helpGroup: 'GLOBAL' }),
    direct: Flags.boolean({ summary: 'Connect to pod IPs directly instead of through port-forward (in-cluster or flat network).', default: false, helpGroup: 'GLOBAL' }),
    'redis-user': Flags.string({ summary: 'Redis ACL user to log in as, with the target\'s password (default: the default user).', helpGroup: 'REDIS' }),
    'redis-password-secret': Flags.string({ summary: 'NAME[:KEY] of the Secret in the target\'s namespace that holds the Redis password, where its objects name none or another.', helpGroup: 'REDIS' }),
    'tls-server-name': Flags.string({ summary: 'Name every Redis TLS certificate must carry (default: each pod\'s own DNS name, <pod>.<service>.<namespace>.svc.cluster.local).', helpGroup: 'REDIS' }),
    'insecure-skip-tls-verify': Flags.boolean({ summary: 'Accept any Redis TLS certificate, unverified: anyone between you and Redis can pose as it. Redis only; the API server is checked as the kubeconfig says.', default: false, helpGroup: 'REDIS' }),
  };

  protected flags!: BaseFlags<T>;
  protected args!: BaseArgs<T>;
  /** Every positional argument, for commands that take many (static strict = false). */
  protected argvList: string[] = [];
  private kubeClient?: KubeClient;
  private readonly cleanups: Array<() => Promise<void> | void> = [];

  override async init(): Promise<void> {
    await super.init();
    // kubectl's boolean flags take =true / =false (`--ignore-daemonsets=false`); oclif's say --no-NAME (allowNo)
    this.argv = this.argv.map((a) => {
      const m = /^--([a-z][-a-z0-9]*)=(true|false)$/.exec(a);
      const def = m ? (this.ctor.flags as Record<string, { type?: string; allowNo?: boolean } | undefined> | undefined)?.[m[1]] : undefined;
      if (!m || def?.type !== 'boolean') return a;
      return m[2] === 'true' ? `--${m[1]}` : def.allowNo ? `--no-${m[1]}` : a;
    });
    const { args, argv, flags } = await this.parse({
      flags: this.ctor.flags,
      baseFlags: (super.ctor as typeof BaseCommand).baseFlags,
      args: this.ctor.args,
      strict: this.ctor.strict,
    });
    this.flags = flags as BaseFlags<T>;
    this.args = args as BaseArgs<T>;
    this.argvList = argv as string[];
    this.requestTimeoutMs = parseDuration(this.flags['request-timeout'], 'request-timeout');
  }

  protected requestTimeoutMs = 0;

  get outputFormat(): OutputFormat {
    return this.flags.output as OutputFormat;
  }

  /** The Kubernetes client for --kubeconfig/--context/-n; created on first use, so a bad context fails here. */
  protected async kube(): Promise<KubeClient> {
    if (!this.kubeClient) {
      const { openKube } = await import('./kube/client.js');
      this.kubeClient = openKube({
        kubeconfig: this.flags.kubeconfig,
        context: this.flags.context,
        namespace: this.flags.namespace,
        requestTimeoutMs: this.requestTimeoutMs,
      });
      if (this.flags.verbose) this.note(`using context "${this.kubeClient.context}" (${this.kubeClient.server}), namespace "${this.kubeClient.namespace}"`);
    }
    return this.kubeClient;
  }

  /** How to reach Redis: --direct, and what the Redis flags say that no object does (parsed and checked once). */
  protected connection(): { direct: boolean; connect: ConnectOverrides } {
    const f = this.flags;
    const connect: ConnectOverrides = {};
    if (f['redis-user'] !== undefined) {
      if (!/^[^\s]+$/.test(f['redis-user'])) throw new UsageError(`--redis-user "${f['redis-user']}" is not a Redis user name (no spaces); give the ACL user to log in as`);
      connect.redisUser = f['redis-user'];
    }
    const ref = f['redis-password-secret'];
    if (ref !== undefined) {
      const m = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?)(?::([-._a-zA-Z0-9]+))?$/.exec(ref);
      if (!m) throw new UsageError(`--redis-password-secret "${ref}" is not NAME or NAME:KEY of a Secret (a DNS-1123 name, then a data key)`);
      connect.passwordSecret = m[3] ? { name: m[1], key: m[3] } : { name: m[1] };
    }
    if (f['tls-server-name'] !== undefined) connect.tlsServerName = f['tls-server-name'];
    if (f['insecure-skip-tls-verify']) {
      connect.insecureSkipTlsVerify = true;
      this.note('warning: --insecure-skip-tls-verify: Redis TLS certificates are not verified; anyone between you and Redis can pose as it and read what is sent, the password too');
    }
    return { direct: f.direct, connect };
  }

  /** The namespace to look in: undefined with -A (every namespace). */
  protected async scopeNamespace(): Promise<string | undefined> {
    if ((this.flags as { 'all-namespaces'?: boolean })['all-namespaces']) return undefined;
    return (await this.kube()).namespace;
  }

  /** Runs at the end of the command, whatever happened (close port-forwards, release leases). */
  protected onCleanup(fn: () => Promise<void> | void): void {
    this.cleanups.push(fn);
  }

  /**
   * Asks before changing the cluster. --yes answers yes; a non-interactive shell without --yes refuses (exit 4).
   * The question and the prompt go to stderr so stdout stays the result.
   */
  protected async confirm(question: string): Promise<boolean> {
    if (this.flags.yes) return true;
    if (!isInteractive()) {
      throw new RefusedError(`${question.replace(/[?\s]+$/, '')}: refusing to change the cluster without confirmation in a non-interactive shell; re-run with --yes`);
    }
    const { confirm } = await import('@inquirer/prompts');
    return confirm({ message: question, default: false }, { output: process.stderr });
  }

  /** A result line (or block) on stdout. */
  protected out(text: string): void {
    process.stdout.write(text.endsWith('\n') || text === '' ? text : `${text}\n`);
  }

  /** A remark for the person on stderr (never part of the result). */
  protected note(text: string): void {
    process.stderr.write(`${text}\n`);
  }

  /** Progress lines on stderr for long work. */
  protected progress(): Progress {
    const progress = new Progress(process.stderr);
    this.onCleanup(() => progress.stop());
    return progress;
  }

  /** Prints rows in the -o format; in table/wide an empty result is said on stderr, as kubectl does. */
  protected async printResult<Row>(rows: Row[], spec: OutputSpec<Row>): Promise<void> {
    const { renderOutput } = await import('./render/output.js');
    if (rows.length === 0 && (this.outputFormat === 'table' || this.outputFormat === 'wide')) {
      if (spec.empty) this.note(spec.empty);
      return;
    }
    this.out(await renderOutput(this.outputFormat, rows, spec));
  }

  override async finally(err: Error | undefined): Promise<unknown> {
    for (const fn of this.cleanups.reverse()) {
      try {
        await fn();
      } catch (e) {
        if (this.flags?.verbose) this.note(`warning: cleanup failed: ${(e as Error).message}`);
      }
    }
    return super.finally(err);
  }

  /** The one place errors are printed: `error: <sentence>`, an optional hint, a stack only with -v, then the exit code. */
  protected override async catch(err: Error & { exitCode?: number }): Promise<unknown> {
    if (err instanceof Errors.ExitError) throw err;
    const described = describeError(err);
    const verbose = this.flags?.verbose ?? this.argv.some((a) => a === '-v' || a === '--verbose');
    process.stderr.write(`error: ${described.message}\n`);
    if (described.hint) process.stderr.write(`${described.hint}\n`);
    if (verbose && err?.stack) process.stderr.write(`${err.stack}\n`);
    throw new Errors.ExitError(described.exitCode);
  }
}
