#!/usr/bin/env node
// The installed entry point (`kubectl-redis`, and `kubectl redis` through kubectl's plugin discovery).
// Runs the esbuild bundle in dist/ (oclif and the commands share its chunks) with the oclif manifest; a source
// checkout that was never built falls back to src/ through tsx.
import { existsSync } from 'node:fs';

const bundle = new URL('../dist/oclif.js', import.meta.url);
if (existsSync(bundle)) {
  const { execute } = await import(bundle.href);
  await execute({ dir: import.meta.url });
} else {
  try {
    const { register } = await import('tsx/esm/api');
    register();
  } catch {
    process.stderr.write('error: kubectl-redis is not built and tsx is not installed\nrun: npm ci && npm run build\n');
    process.exit(1);
  }
  await import('./dev.js');
}
