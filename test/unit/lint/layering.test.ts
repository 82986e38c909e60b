// The layering rule (scripts/eslint-layering.js, on in eslint.config.js) fails the lint on an import that points the
// wrong way, and the tree as committed passes it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';

const root = resolve(fileURLToPath(new URL('../../..', import.meta.url)));
const eslint = new ESLint({ cwd: root, ruleFilter: ({ ruleId }) => ruleId === 'layering/imports' });

async function layering(file: string, code: string): Promise<string[]> {
  const [r] = await eslint.lintText(code, { filePath: resolve(root, file) });
  return r.messages.map((m) => `${m.ruleId}: ${m.message}`);
}

const WRONG: Array<[string, string, RegExp]> = [
  ['src/reconcile/x.ts', "import { heal } from '../workflows/heal/index.js';", /src\/reconcile must not import src\/workflows\/heal\/index\.js .*move the piece both need down/],
  ['src/targets/x.ts', "import type { Observed } from '../reconcile/types.js';", /src\/targets must not import src\/reconcile\/types\.js/],
  ['src/kube/x.ts', "export { resolveTarget } from '../targets/index.js';", /src\/kube must not import src\/targets/],
  ['src/redis/x.ts', "const k = await import('../kube/client.js');", /src\/redis must not import src\/kube\/client\.js/],
  ['src/workflows/heal/x.ts', "import { Progress } from '../../render/progress.js';", /only src\/commands may import src\/render\/progress\.js: .*src\/render\/<command>\.ts/],
  ['src/workflows/x.ts', "import { BaseCommand } from '../base-command.js';", /src\/workflows must not import src\/base-command\.js/],
  ['src/render/x.ts', "import Status from '../commands/status.js';", /src\/render must not import src\/commands\/status\.js/],
  ['src/util/x.ts', "import { sandbox } from '../../test/support/sandbox.js';", /src\/ must not import test\/support\/sandbox\.js/],
  ['sandbox/core/x.ts', "import { RES } from '../../src/kube/resources.js';", /sandbox\/ must not import src\/kube\/resources\.js/],
  ['bench/x.ts', "import { builders } from '../test/unit/reconcile/builders.js';", /bench\/ may import only test\/support .*move what bench needs/],
];

for (const [file, code, message] of WRONG) {
  test(`lint refuses ${file}: ${code}`, async () => {
    const found = await layering(file, code);
    assert.equal(found.length, 1, found.join('\n'));
    assert.match(found[0], message);
  });
}

const RIGHT: Array<[string, string]> = [
  ['src/commands/x.ts', "import { heal } from '../workflows/heal/index.js';\nimport { renderOutput } from '../render/output.js';"],
  ['src/base-command.ts', "import { Progress } from './render/progress.js';"],
  ['src/workflows/x.ts', "import { applyPlan } from '../reconcile/apply.js';\nimport { RES } from '../kube/resources.js';"],
  ['src/reconcile/x.ts', "import { resolveTarget } from '../targets/index.js';\nimport { UsageError } from '../errors.js';"],
  ['src/kube/x.ts', "import type { PodDialer } from '../redis/types.js';"],
  ['src/render/x.ts', "import type { TargetReport } from '../workflows/status/report.js';"],
  ['bench/x.ts', "import { sandbox } from '../test/support/sandbox.js';\nimport { heal } from '../src/workflows/heal/index.js';"],
  ['test/e2e/x.ts', "import { RES } from '../../src/kube/resources.js';\nimport { x } from '../../sandbox/cluster.js';"],
];

for (const [file, code] of RIGHT) {
  test(`lint lets ${file} import down: ${code.split('\n')[0]}`, async () => {
    assert.deepEqual(await layering(file, code), []);
  });
}

test('the tree as committed follows the layering', async () => {
  const results = await eslint.lintFiles(['src', 'sandbox', 'bench', 'test', 'scripts', 'bin']);
  const found = results.flatMap((r) => r.messages.map((m) => `${r.filePath}:${m.line} ${m.message}`));
  assert.ok(results.length > 100, `linted ${results.length} files`);
  assert.deepEqual(found, []);
});
