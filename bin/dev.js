#!/usr/bin/env -S node --import tsx --no-warnings
// Runs the CLI straight from src/ through tsx, no build: `./bin/dev.js status -n redis` while developing.
// oclif is pointed at src/commands (package.json names the built dist/commands) and told to ignore the built
// manifest, which lists dist/ paths.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Plugin, execute } from '@oclif/core';

const root = fileURLToPath(new URL('..', import.meta.url));
const pjson = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
pjson.oclif.commands = { ...pjson.oclif.commands, target: './src/commands' };

const plugins = new Map();
const rootPlugin = new Plugin({ root, isRoot: true, pjson, ignoreManifest: true });
await rootPlugin.load();
plugins.set(rootPlugin.name, rootPlugin);
for (const name of pjson.oclif.plugins ?? []) {
  const plugin = new Plugin({ root: join(root, 'node_modules', name), name, type: 'core' });
  await plugin.load();
  plugins.set(plugin.name, plugin);
}
await execute({ development: true, loadOptions: { root, plugins } });
