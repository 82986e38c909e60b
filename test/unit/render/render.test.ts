import { test } from 'node:test';
import assert from 'node:assert/strict';
import { colorEnabled, palette, stripColor } from '../../../src/render/color.js';
import { renderOutput, sortKeys, type OutputSpec } from '../../../src/render/output.js';
import { Progress } from '../../../src/render/progress.js';
import { renderTable } from '../../../src/render/table.js';

interface Row {
  name: string;
  ready: string;
  node?: string;
}
const spec: OutputSpec<Row> = {
  columns: [
    { header: 'name', value: (r) => r.name },
    { header: 'ready', value: (r) => r.ready },
    { header: 'node', value: (r) => r.node, wide: true },
  ],
  toDocument: (rows) => ({ kind: 'TargetList', items: rows }),
};
const rows: Row[] = [
  { name: 'orders', ready: '6/6', node: 'east-node-1' },
  { name: 'sessions-long-name', ready: '2/3' },
];

test('tables look like kubectl get: capital headers, three spaces between columns, no borders, no trailing blanks', () => {
  assert.equal(renderTable(['name', 'ready'], [['orders', '6/6'], ['sessions-long-name', '2/3']]), ['NAME                 READY', 'orders               6/6', 'sessions-long-name   2/3'].join('\n'));
  assert.equal(renderTable(['name'], []), '');
});

test('-o wide adds the wide columns; an absent value prints <none>', async () => {
  assert.equal(await renderOutput('table', rows, spec), 'NAME                 READY\norders               6/6\nsessions-long-name   2/3\n');
  const wide = await renderOutput('wide', rows, spec);
  assert.equal(wide.split('\n')[0], 'NAME                 READY   NODE');
  assert.equal(wide.split('\n')[2], 'sessions-long-name   2/3     <none>');
});

test('json and yaml are the document with keys sorted at every level', async () => {
  const json = await renderOutput('json', rows, spec);
  assert.equal(json, `${JSON.stringify({ items: [{ name: 'orders', node: 'east-node-1', ready: '6/6' }, { name: 'sessions-long-name', ready: '2/3' }], kind: 'TargetList' }, null, 2)}\n`);
  const yaml = await renderOutput('yaml', rows, spec);
  assert.equal(yaml.split('\n')[0], 'items:');
  assert.match(yaml, /^kind: TargetList$/m);
  assert.deepEqual(Object.keys(sortKeys({ b: 1, a: { d: 1, c: new Date(0) } }) as object), ['a', 'b']);
  assert.deepEqual(sortKeys({ a: { d: 1, c: new Date(0) } }), { a: { c: '1970-01-01T00:00:00.000Z', d: 1 } });
});

test('colour only on a TTY without NO_COLOR', () => {
  assert.equal(colorEnabled({ isTTY: true }, {}), true);
  assert.equal(colorEnabled({ isTTY: false }, {}), false);
  assert.equal(colorEnabled({ isTTY: true }, { NO_COLOR: '1' }), false);
  assert.equal(palette({ isTTY: false }, {}).red('x'), 'x');
  const red = palette({ isTTY: true }, {}).red('x');
  assert.notEqual(red, 'x');
  assert.equal(stripColor(red), 'x');
});

test('progress lines go to the given stream with the step count and elapsed time; no spinner off a TTY', () => {
  let out = '';
  let now = 1000;
  const progress = new Progress({ write: (t: string) => (out += t), isTTY: false }, () => now, {});
  progress.step(3, 7, 'cordon node east-node-2');
  now += 12_000;
  progress.info('evicting orders-leader-1');
  progress.step(4, 7, 'reboot node east-node-2');
  now += 65_000;
  progress.done('drain-reboot finished');
  assert.equal(
    out,
    ['==> step 3/7: cordon node east-node-2 (0s)', '    evicting orders-leader-1', '==> step 4/7: reboot node east-node-2 (12s)', '==> drain-reboot finished (1m17s)', ''].join('\n'),
  );
});
