import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Errors } from '@oclif/core';
import { describeError, isInteractive } from '../../src/base-command.js';
import { ForbiddenError, RefusedError, UsageError } from '../../src/errors.js';

test('our errors keep their sentence, hint and exit code', () => {
  assert.deepEqual(describeError(new RefusedError('lock held by x', { hint: 'wait' })), { message: 'lock held by x', hint: 'wait', exitCode: 4 });
  assert.deepEqual(describeError(new ForbiddenError('you may not patch nodes')), { message: 'you may not patch nodes', hint: undefined, exitCode: 1 });
  assert.equal(describeError(new UsageError('--timeout "x" is not a duration')).exitCode, 2);
});

test('oclif parse errors are exit 2 with one line; anything else exit 1 with its first line', () => {
  const unknown = Object.assign(new Errors.CLIError('Nonexistent flag: --bogus\nSee more help with --help', { exit: 2 }), { parse: {}, flags: ['--bogus'] });
  assert.deepEqual(describeError(unknown), { message: 'unknown flag: --bogus', hint: 'see --help for the flags this command takes', exitCode: 2 });
  const option = Object.assign(new Errors.CLIError('Expected --output=x to be one of: table, wide, json, yaml\nSee more help with --help'), { parse: {} });
  assert.deepEqual(describeError(option), { message: 'Expected --output=x to be one of: table, wide, json, yaml', hint: 'see --help for usage', exitCode: 2 });
  assert.deepEqual(describeError(new TypeError('cannot read properties of undefined\n    at x (y.js:1:1)')), { message: 'cannot read properties of undefined', exitCode: 1 });
  assert.equal(describeError('a string').message, 'a string');
  assert.equal(describeError(Object.assign(new Error('User force closed the prompt'), { name: 'ExitPromptError' })).exitCode, 4);
});

test('interactive means a terminal on stdin and not CI', () => {
  assert.equal(isInteractive({ isTTY: true }, {}), true);
  assert.equal(isInteractive({ isTTY: false }, {}), false);
  assert.equal(isInteractive({ isTTY: true }, { CI: 'true' }), false);
  assert.equal(isInteractive({ isTTY: true }, { CI: 'false' }), true);
});
