// Hidden: kubectl's plugin completion protocol. kubectl runs `kubectl_complete-redis <args...> <toComplete>` (that
// script, or the binary linked under that name, runs `kubectl-redis __complete -- <args...>`) and reads Cobra's
// format: one candidate a line (`candidate<TAB>description`), then `:<directive>`. Commands and flags come from the
// oclif manifest (this.config), target, node, namespace and context names from the cluster and kubeconfig. Silent
// and quick on every failure: an unreachable cluster completes nothing after at most COMPLETION_TIMEOUT_MS.
import { Command } from '@oclif/core';

/** Cobra's ShellCompDirective bits. */
export const Directive = { default: 0, error: 1, noSpace: 2, noFileComp: 4 } as const;

const COMPLETION_TIMEOUT_MS = 3000;

type CommandInfo = Pick<Command.Cached, 'id' | 'hidden' | 'summary' | 'description' | 'flags' | 'args'>;
type FlagInfo = Command.Cached['flags'][string];

/** What to look up in the cluster or kubeconfig; the caller turns it into names. */
export type Lookup = 'targets' | 'nodes' | 'namespaces' | 'contexts' | 'pods';

export interface Completion {
  candidates: string[];
  directive: number;
  /** names to fetch, filtered by `prefix` */
  lookup?: Lookup;
  prefix: string;
  /** put before each looked-up name: `--namespace=` when completing `--namespace=re` */
  flagPrefix?: string;
  /** --kubeconfig/--context/-n/-A as typed so far, for the lookup */
  scope: { kubeconfig?: string; context?: string; namespace?: string; allNamespaces: boolean };
}

function firstLine(text: string | undefined): string {
  return (text ?? '').trim().split('\n')[0]?.trim() ?? '';
}

function withDescription(candidate: string, description: string | undefined, bin = 'kubectl-redis'): string {
  const d = firstLine(description).replace(/\t/g, ' ').replace(/<%=\s*config\.bin\s*%>/g, bin);
  return d ? `${candidate}\t${d}` : candidate;
}

function findFlag(cmd: CommandInfo | undefined, word: string): FlagInfo | undefined {
  if (!cmd) return undefined;
  const flags = Object.values(cmd.flags ?? {});
  if (word.startsWith('--')) {
    const name = word.slice(2);
    return flags.find((f) => f.name === name || (f.aliases ?? []).includes(name) || (f.type === 'boolean' && f.allowNo && name === `no-${f.name}`));
  }
  return flags.find((f) => f.char === word[1]);
}

/** Flags whose value is a path: the shell completes file names (--kubeconfig, report's --output-file). */
function takesFile(flag: FlagInfo): boolean {
  return flag.name === 'kubeconfig' || /(^|-)file$/.test(flag.name);
}

function valueLookup(flag: FlagInfo): Lookup | undefined {
  if (flag.name === 'namespace' || /(^|-)namespace$/.test(flag.name)) return 'namespaces';
  if (/(^|-)context$/.test(flag.name)) return 'contexts';
  if (/(^|-)node$/.test(flag.name)) return 'nodes';
  // rebalance's --drain POD and --weight POD=N name pods of the target's namespace
  if (flag.name === 'drain' || flag.name === 'weight' || flag.name === 'prefer') return 'pods';
  return undefined;
}

/**
 * The pure part: from the words typed after `kubectl redis` (the last one being completed) and the commands the
 * CLI has, what to offer. Cluster names are left to the caller (`lookup`).
 */
export function complete(words: string[], commands: CommandInfo[]): Completion {
  const typed = words.length === 0 ? [''] : words;
  const toComplete = typed[typed.length - 1] ?? '';
  const before = typed.slice(0, -1);
  const visible = commands.filter((c) => !c.hidden);
  const byId = new Map(commands.map((c) => [c.id, c]));
  const scope: Completion['scope'] = { allNamespaces: false };
  let topic = '';
  let cmd: CommandInfo | undefined;
  const positional: string[] = [];
  let pendingFlag: FlagInfo | undefined;
  let dashDash = false;

  for (const word of before) {
    if (pendingFlag) {
      recordScope(scope, pendingFlag, word);
      pendingFlag = undefined;
      continue;
    }
    if (!dashDash && word === '--') {
      dashDash = true;
      continue;
    }
    if (!dashDash && word.startsWith('-') && word.length > 1) {
      const eq = word.indexOf('=');
      const flag = findFlag(cmd, eq > 0 ? word.slice(0, eq) : word);
      if (!flag) continue;
      if (flag.type === 'boolean') {
        if (flag.name === 'all-namespaces') scope.allNamespaces = true;
      } else if (eq > 0) recordScope(scope, flag, word.slice(eq + 1));
      else if (!word.startsWith('--') && word.length > 2) recordScope(scope, flag, word.slice(2));
      else pendingFlag = flag;
      continue;
    }
    const next = topic ? `${topic}:${word}` : word;
    if (positional.length === 0 && visible.some((c) => c.id === next || c.id.startsWith(`${next}:`))) {
      topic = next;
      cmd = byId.get(next) ?? cmd;
      continue;
    }
    positional.push(word);
  }

  const result = (candidates: string[], directive: number = Directive.noFileComp, lookup?: Lookup, prefix = toComplete): Completion => ({
    candidates,
    directive,
    lookup,
    prefix,
    scope,
  });

  if (pendingFlag) {
    if (takesFile(pendingFlag)) return result([], Directive.default);
    if (pendingFlag.type === 'option' && pendingFlag.options) return result(pendingFlag.options.filter((o) => o.startsWith(toComplete)));
    return result([], Directive.noFileComp, valueLookup(pendingFlag));
  }

  if (!dashDash && toComplete.startsWith('-')) {
    const eq = toComplete.indexOf('=');
    if (eq > 0 && toComplete.startsWith('--')) {
      const flag = findFlag(cmd, toComplete.slice(0, eq));
      const head = toComplete.slice(0, eq + 1);
      const value = toComplete.slice(eq + 1);
      if (!flag || flag.type !== 'option') return result([]);
      if (takesFile(flag)) return result([], Directive.default);
      if (flag.options) return result(flag.options.filter((o) => o.startsWith(value)).map((o) => `${head}${o}`));
      return { ...result([], Directive.noFileComp, valueLookup(flag), value), flagPrefix: head };
    }
    if (!cmd) return result(['--help', '--version'].filter((f) => f.startsWith(toComplete)));
    const given = new Set(before.filter((w) => w.startsWith('-')).map((w) => findFlag(cmd, w.split('=')[0] ?? w)?.name));
    const flags = Object.values(cmd.flags ?? {}).filter((f) => !f.hidden && ((f.type === 'option' && f.multiple) || !given.has(f.name)));
    const long = flags.map((f) => withDescription(`--${f.name}`, f.summary ?? f.description));
    const short = toComplete === '-' ? flags.filter((f) => f.char).map((f) => withDescription(`-${f.char}`, f.summary ?? f.description)) : [];
    return result([...long, ...short, '--help\tShow help for this command.'].filter((c) => c.startsWith(toComplete)));
  }

  // Subcommands (or topics) one level below `under`.
  const childrenOf = (under: string): string[] => {
    const level = under ? `${under}:` : '';
    const children = new Map<string, string | undefined>();
    for (const c of visible) {
      if (!c.id.startsWith(level) || c.id === under) continue;
      const word = c.id.slice(level.length).split(':')[0] ?? '';
      if (word && word.startsWith(toComplete) && !children.has(word)) children.set(word, c.id === `${level}${word}` ? c.summary ?? c.description : undefined);
    }
    return [...children.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([w, d]) => withDescription(w, d));
  };
  const sub = positional.length === 0 ? childrenOf(topic) : [];
  if (!cmd) return result(sub);

  const arg = Object.values(cmd.args ?? {})[positional.length];
  if (!arg) return result(sub);
  // `help COMMAND`
  if (arg.name === 'command' && positional.length === 0) return result([...new Set([...sub, ...childrenOf('')])]);
  if (arg.options) return result([...sub, ...arg.options.filter((o) => o.startsWith(toComplete))]);
  const lookup: Lookup | undefined = /target/i.test(arg.name) ? 'targets' : /node/i.test(arg.name) ? 'nodes' : /namespace/i.test(arg.name) ? 'namespaces' : /context/i.test(arg.name) ? 'contexts' : undefined;
  return result(sub, Directive.noFileComp, lookup);
}

function recordScope(scope: Completion['scope'], flag: FlagInfo, value: string): void {
  if (flag.name === 'kubeconfig') scope.kubeconfig = value;
  else if (flag.name === 'context') scope.context = value;
  else if (flag.name === 'namespace') scope.namespace = value;
}

/** Names for a lookup, with a description; [] on any failure. */
async function lookupNames(lookup: Lookup, scope: Completion['scope'], prefix: string): Promise<string[]> {
  if (lookup === 'contexts') {
    const { loadKubeconfig } = await import('../kube/kubeconfig.js');
    return loadKubeconfig({ explicit: scope.kubeconfig }).contexts.map((c) => c.name).filter((n) => n.startsWith(prefix));
  }
  const { openKube } = await import('../kube/client.js');
  const kube = openKube({ kubeconfig: scope.kubeconfig, context: scope.context, namespace: scope.namespace, requestTimeoutMs: COMPLETION_TIMEOUT_MS });
  if (lookup === 'namespaces' || lookup === 'nodes') {
    const res = lookup === 'namespaces'
      ? { group: '', version: 'v1', plural: 'namespaces', kind: 'Namespace', namespaced: false }
      : { group: '', version: 'v1', plural: 'nodes', kind: 'Node', namespaced: false };
    return (await kube.list(res, undefined)).map((o) => o.metadata.name).filter((n) => n.startsWith(prefix)).sort();
  }
  if (lookup === 'pods') {
    const res = { group: '', version: 'v1', plural: 'pods', kind: 'Pod', namespaced: true };
    return (await kube.list(res, kube.namespace)).map((o) => o.metadata.name).filter((n) => n.startsWith(prefix)).sort();
  }
  const { discoverAll } = await import('../targets/index.js');
  const targets = await discoverAll(kube, scope.allNamespaces ? undefined : kube.namespace);
  const describe = (t: { kind: string; namespace: string }) => (scope.allNamespaces ? `${t.kind} in ${t.namespace}` : t.kind);
  const refs = targets.filter((t) => t.ref.startsWith(prefix)).map((t) => withDescription(t.ref, describe(t)));
  if (refs.length > 0 || prefix.includes('/')) return [...new Set(refs)];
  return [...new Set(targets.filter((t) => t.name.startsWith(prefix)).map((t) => withDescription(t.name, describe(t))))];
}

export default class Complete extends Command {
  static override hidden = true;
  static override strict = false;
  static override summary = "kubectl's plugin completion protocol (used by kubectl_complete-redis).";
  static override description = 'Prints the completions for `kubectl redis <args...>`, the last argument being the word to complete, in Cobra\'s format.';

  async run(): Promise<void> {
    const words = this.argv[0] === '--' ? this.argv.slice(1) : this.argv;
    let lines: string[] = [];
    let directive: number = Directive.noFileComp;
    try {
      const c = complete(words, this.config.commands as unknown as CommandInfo[]);
      directive = c.directive;
      lines = c.candidates;
      if (c.lookup) {
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<string[]>((resolve) => {
          timer = setTimeout(() => resolve([]), COMPLETION_TIMEOUT_MS);
        });
        const head = c.flagPrefix ?? '';
        const names = await Promise.race([lookupNames(c.lookup, c.scope, c.prefix).catch(() => []), timeout]);
        clearTimeout(timer);
        lines = [...lines, ...names.map((n) => `${head}${n}`)];
      }
    } catch {
      lines = [];
      directive = Directive.noFileComp;
    }
    process.stdout.write(`${[...lines, `:${directive}`].join('\n')}\n`);
    // An API connection left open must not keep the shell waiting.
    process.exitCode = 0;
    setTimeout(() => process.exit(0), 10).unref();
  }
}
