// The layering of the tree, enforced by lint (eslint.config.js uses this rule as `layering/imports`):
//   src:   commands -> workflows -> reconcile -> targets -> kube -> redis -> util, errors
//          (an import points down that chain, never up; src/base-command.ts belongs with commands);
//          src/render is imported only by src/commands (views are the commands' business; a workflow returns data);
//          nothing in src imports test/, bench/ or sandbox/.
//   sandbox: imports nothing from src/ (it stands for Kubernetes and the operators, so it shares no code with the product).
//   bench:   imports nothing from test/ but test/support (the helpers the tests and the benchmarks share).
// Every message says what to do instead, so whoever adds code meets the rule with a way out.
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The rank of each layer of src: a file may import its own rank or lower. */
const RANK = { commands: 6, workflows: 5, reconcile: 4, targets: 3, kube: 2, redis: 1, util: 0, errors: 0 };
const CHAIN = 'commands -> workflows -> reconcile -> targets -> kube -> redis -> util/errors';

/** Where a file sits: { tree: 'src' | 'sandbox' | 'bench' | 'test' | 'test/support' | 'other', layer?: string }. */
export function placeOf(absPath) {
  const rel = relative(ROOT, absPath).split('\\').join('/');
  const [top, name] = rel.split('/');
  // An import names the built file (`./errors.js`) of a source file (`errors.ts`).
  const second = name?.replace(/\.(ts|js)$/, '');
  if (top === 'src') {
    if (second === 'base-command') return { tree: 'src', layer: 'commands' };
    if (second === 'errors') return { tree: 'src', layer: 'errors' };
    if (second === 'render') return { tree: 'src', layer: 'render' };
    return { tree: 'src', layer: second in RANK ? second : 'unknown' };
  }
  if (top === 'test') return { tree: second === 'support' ? 'test/support' : 'test' };
  if (top === 'sandbox' || top === 'bench') return { tree: top };
  return { tree: 'other' };
}

/** Why `from` may not import `to` (both absolute paths), or undefined when it may. */
export function layeringProblem(from, to) {
  const a = placeOf(from);
  const b = placeOf(to);
  const target = relative(ROOT, to).split('\\').join('/');
  if (a.tree === 'sandbox' && b.tree === 'src') {
    return `sandbox/ must not import ${target}: the sandbox stands for Kubernetes and the operators, so it keeps its own code (write it in sandbox/, citing the upstream source it emulates)`;
  }
  if (a.tree === 'bench' && b.tree === 'test') {
    return `bench/ may import only test/support from test/: move what bench needs from ${target} into test/support/ and import it from there (the test then imports it from there too)`;
  }
  if (a.tree !== 'src') return undefined;
  if (b.tree !== 'src' && b.tree !== 'other') return `src/ must not import ${target}: the product ships without test/, bench/ and sandbox/; move the code it needs into src/`;
  if (b.tree !== 'src') return undefined;
  if (b.layer === 'render' && a.layer !== 'commands' && a.layer !== 'render') {
    return `only src/commands may import ${target}: return plain data from src/${a.layer} and render it in a view in src/render/<command>.ts, which the command calls`;
  }
  if (a.layer === 'render') {
    return b.layer === 'commands' ? `src/render must not import ${target}: a view takes the data it shows as arguments; move what both need down into src/render or below` : undefined;
  }
  if (a.layer === 'unknown' || b.layer === 'unknown') {
    return `src/${a.layer === 'unknown' ? relative(ROOT, from).split('/')[1] : target.split('/')[1]} is in no layer: put the file in one of src/{commands,workflows,reconcile,targets,kube,redis,util,render} or add its folder to RANK in scripts/eslint-layering.js`;
  }
  if (RANK[b.layer] > RANK[a.layer]) {
    return `src/${a.layer} must not import ${target} (imports point down: ${CHAIN}): move the piece both need down into src/${a.layer} or below, or let the caller in src/${b.layer} pass it in`;
  }
  return undefined;
}

const check = (context, node) => {
  const source = node.source;
  if (!source || source.type !== 'Literal' || typeof source.value !== 'string' || !source.value.startsWith('.')) return;
  const from = context.filename ?? context.getFilename();
  const to = resolve(dirname(from), source.value);
  const problem = layeringProblem(from, to);
  if (problem) context.report({ node: source, message: problem });
};

export const layeringPlugin = {
  rules: {
    imports: {
      meta: { type: 'problem', docs: { description: 'imports follow the layering of src, sandbox, bench and test' }, schema: [] },
      create(context) {
        return {
          ImportDeclaration: (node) => check(context, node),
          ExportNamedDeclaration: (node) => check(context, node),
          ExportAllDeclaration: (node) => check(context, node),
          ImportExpression: (node) => check(context, node),
        };
      },
    },
  },
};
