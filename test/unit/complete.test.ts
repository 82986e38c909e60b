// Completion of flag values: a path flag (--kubeconfig, report's --output-file) lets the shell complete file names;
// others complete nothing from files. The command's info is built from its class as the oclif manifest has it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { complete, Directive } from '../../src/commands/__complete.js';
import Report from '../../src/commands/report.js';

type Info = Parameters<typeof complete>[1][number];
const named = <T extends object>(defs: Record<string, T>) => Object.fromEntries(Object.entries(defs).map(([name, d]) => [name, { ...d, name }]));
const commands: Info[] = [{ id: 'report', summary: Report.summary, flags: named({ ...Report.baseFlags, ...Report.flags }), args: named(Report.args) } as unknown as Info];

test('report is a command, and its --output-file completes file names', () => {
  assert.ok(complete(['re'], commands).candidates.some((c) => c.startsWith('report\t')), 'report is offered');
  assert.equal(complete(['report', '--output-file', ''], commands).directive, Directive.default);
  assert.equal(complete(['report', '--output-file=out'], commands).directive, Directive.default);
  assert.equal(complete(['report', '--since', ''], commands).directive, Directive.noFileComp);
  assert.equal(complete(['report', ''], commands).lookup, 'targets', 'TARGET completes target names');
});

test('rebalance: TARGET completes targets, --drain and --weight complete pod names, --after-drain its two values', async () => {
  const { default: Rebalance } = await import('../../src/commands/rebalance.js');
  const cmds = [{ id: 'rebalance', summary: Rebalance.summary, flags: named({ ...Rebalance.baseFlags, ...Rebalance.flags }), args: named(Rebalance.args) } as unknown as Info];
  assert.equal(complete(['rebalance', ''], cmds).lookup, 'targets');
  assert.equal(complete(['rebalance', 'sts/cache', '--drain', ''], cmds).lookup, 'pods');
  assert.equal(complete(['rebalance', 'sts/cache', '--weight', 'ca'], cmds).lookup, 'pods');
  assert.deepEqual(complete(['rebalance', 'sts/cache', '--after-drain', ''], cmds).candidates, ['replica', 'forget']);
});
