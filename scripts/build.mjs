// `npm run build`: bundles oclif and every command (with everything they import) with esbuild into dist/, code split so
// the commands and bin/run.js share one copy of @oclif/core (its config cache is a module singleton), then writes
// oclif.manifest.json so `--help` and `--version` never load a command. Start-up is the reason for the bundle:
// loading @oclif/core from node_modules costs about twice its bundled form, client-node about three times.
import { spawnSync } from 'node:child_process';
import { readdirSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const require = createRequire(import.meta.url);

function files(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return files(path);
    return path.endsWith('.ts') && !path.endsWith('.d.ts') ? [path] : [];
  });
}

const started = Date.now();
const commandsDir = join(root, 'src', 'commands');
const entryPoints = [
  { in: 'kubectl-redis:oclif', out: 'oclif' },
  ...files(commandsDir).map((file) => ({ in: file, out: join('commands', relative(commandsDir, file)).replace(/\.ts$/, '') })),
];

// dist/oclif.js: the part of @oclif/core bin/run.js needs, as an entry so it lands in the shared chunk
const oclifEntry = {
  name: 'oclif-entry',
  setup(b) {
    b.onResolve({ filter: /^kubectl-redis:oclif$/ }, () => ({ path: 'oclif', namespace: 'kubectl-redis' }));
    b.onLoad({ filter: /.*/, namespace: 'kubectl-redis' }, () => ({ contents: "export { execute } from '@oclif/core';", resolveDir: root, loader: 'js' }));
  },
};
rmSync(join(root, 'dist'), { recursive: true, force: true });

const result = await build({
  absWorkingDir: root,
  entryPoints,
  outdir: 'dist',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  chunkNames: 'chunks/[name]-[hash]',
  // ws's native helpers are optional; oclif reaches for typescript/ts-node/tsx only in development mode
  external: ['bufferutil', 'utf-8-validate', 'typescript', 'ts-node', 'tsx', 'tsx/*'],
  plugins: [oclifEntry],
  // CommonJS dependencies (ioredis, ...) call require() for Node's built-ins: give the ESM bundle a real one
  banner: { js: "import { createRequire as __krCreateRequire } from 'node:module';\nconst require = __krCreateRequire(import.meta.url);" },
  legalComments: 'none',
  logLevel: 'warning',
  metafile: true,
});
const bytes = Object.values(result.metafile.outputs).reduce((sum, o) => sum + o.bytes, 0);
console.log(`bundled ${entryPoints.length - 1} commands into dist/ (${(bytes / 1e6).toFixed(1)} MB) in ${Date.now() - started} ms`);

const manifest = spawnSync(process.execPath, [require.resolve('oclif/bin/run.js'), 'manifest'], { cwd: root, env: { ...process.env, OCLIF_SKIP_NEW_VERSION_CHECK: 'true' }, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
if (manifest.status !== 0) {
  console.error('error: oclif manifest failed');
  process.exit(manifest.status ?? 1);
}
console.log(manifest.stdout.trim());
