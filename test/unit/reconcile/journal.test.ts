import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Journal, JournalConflict, type JournalBackend, type JournalDoc } from '../../../src/reconcile/journal.js';
import { RefusedError } from '../../../src/errors.js';

/** An in-memory backend with resourceVersion semantics, like a ConfigMap. */
function memoryBackend(): JournalBackend & { docs: Map<string, { doc: JournalDoc; version: string }> } {
  const docs = new Map<string, { doc: JournalDoc; version: string }>();
  let rv = 0;
  return {
    docs,
    async load(name) {
      const d = docs.get(name);
      return d && { doc: structuredClone(d.doc), version: d.version };
    },
    async save(name, doc, version) {
      const cur = docs.get(name);
      if ((cur?.version ?? undefined) !== version) throw new JournalConflict(`conflict on ${name}`);
      const v = String(++rv);
      docs.set(name, { doc: structuredClone(doc), version: v });
      return v;
    },
    async remove(name) {
      docs.delete(name);
    },
  };
}

let ids = 0;
const opts = (over: Partial<Parameters<typeof Journal.open>[2]> = {}) => ({
  operation: 'migrate', target: 'redis/sts/cache', holder: 'ann@laptop', args: { to: 'west' },
  newId: () => `op-${++ids}`, now: () => new Date('2026-01-01T00:00:00Z'), ...over,
});

test('a second run resumes the first: done steps stay done, a started step is reported as started', async () => {
  const b = memoryBackend();
  const j1 = await Journal.open(b, 'migrate-cache', opts());
  assert.equal(j1.resumed, false);
  await j1.done('preflight');
  await j1.started('scale-source/5');
  const j2 = await Journal.open(b, 'migrate-cache', opts({ holder: 'bob@ci' }));
  assert.equal(j2.resumed, true);
  assert.equal(j2.id, j1.id);
  assert.equal(j2.isDone('preflight'), true);
  assert.equal(j2.isDone('scale-source/5'), false);
  assert.equal(j2.wasStarted('scale-source/5'), true);
  assert.equal(j2.snapshot.holder, 'bob@ci');
});

test('another operation on the same journal name is refused with who and when', async () => {
  const b = memoryBackend();
  await Journal.open(b, 'target-lock', opts());
  await assert.rejects(Journal.open(b, 'target-lock', opts({ operation: 'drain-reboot' })), (e: unknown) =>
    e instanceof RefusedError && /in the middle of migrate op-\d+ started by ann@laptop/.test(e.message));
});

test('resuming with different arguments is refused; the same arguments resume', async () => {
  const b = memoryBackend();
  await Journal.open(b, 'j', opts());
  await assert.rejects(Journal.open(b, 'j', opts({ args: { to: 'north' } })), /was started with to="west"/);
  await Journal.open(b, 'j', opts());
});

test('a finished journal does not block a new operation, and abort needs something to abort', async () => {
  const b = memoryBackend();
  const j = await Journal.open(b, 'j', opts());
  await j.finish('done');
  await assert.rejects(Journal.open(b, 'j', opts({ abort: true })), /no migrate in progress/);
  const j2 = await Journal.open(b, 'j', opts());
  assert.notEqual(j2.id, j.id);
  assert.equal(j2.resumed, false);
});

test('abort reopens a running journal in state aborting; a failed one resumes as running', async () => {
  const b = memoryBackend();
  const j = await Journal.open(b, 'j', opts());
  await j.fail('step timed out');
  const again = await Journal.open(b, 'j', opts());
  assert.equal(again.state, 'running');
  assert.equal(again.snapshot.error, undefined);
  const ab = await Journal.open(b, 'j', opts({ abort: true }));
  assert.equal(ab.state, 'aborting');
});

test('a concurrent writer makes the stale one fail instead of overwriting', async () => {
  const b = memoryBackend();
  const j1 = await Journal.open(b, 'j', opts());
  const j2 = await Journal.open(b, 'j', opts());
  await j2.done('preflight');
  await assert.rejects(j1.done('pause'), JournalConflict);
});
