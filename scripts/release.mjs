// `npm run release`: single-file executables (Node's single executable applications) for krew, and plugin.yaml.
//
// 1. Bundles the CLI with esbuild into ONE CommonJS file: oclif, the help and autocomplete plugins, and every command
//    under src/commands/** (found at build time, so a new command file needs no change here). The commands are
//    registered explicitly (oclif's `explicit` command discovery, the map pre-loaded), with the oclif manifest embedded,
//    so the executable reads nothing from disk: no package.json, no manifest, no node_modules.
// 2. Makes a SEA blob (`node --experimental-sea-config`) and injects it with postject into a Node binary of the same
//    version: this machine's for its own platform, otherwise the `node-<os>-<arch>` package from the npm registry.
//    A platform whose binary cannot be had (or, for darwin, cannot be re-signed here) is skipped with a message.
// 3. Packs release/kubectl-redis_<version>_<os>_<arch>.tar.gz (kubectl-redis, kubectl_complete-redis, LICENSE)
//    and rewrites plugin.yaml's version, uri and sha256 from the archives built.
//
// Options: --platforms linux-x64,linux-arm64 (default: all four, skipping what cannot be built; or RELEASE_PLATFORMS),
// --out DIR (default release), --manifest FILE (the krew manifest to rewrite, default plugin.yaml),
// --skip-manifest-update, --no-code-cache (the native binary without V8's code cache: ~60 ms slower to start).
// The same sources and Node version give the same archives, byte for byte. RELEASE_KEEP_WORK=1 keeps the intermediate bundle and blobs (the temporary directory is printed).
// RELEASE_BASE_URL overrides where the archives are published (default: the GitHub release of the version).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { arch as hostArch, platform as hostPlatform, tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { parseDocument } from 'yaml';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const require = createRequire(import.meta.url);
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const version = pkg.version;
const nodeVersion = process.versions.node;
const cacheDir = join(root, 'node_modules', '.cache', 'kubectl-redis-release');
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
const REPO = 'https://github.com/kubectl-redis/kubectl-redis';
const homepage = pkg.homepage ?? REPO;
const baseUrl = (process.env.RELEASE_BASE_URL ?? `${homepage}/releases/download/v${version}`).replace(/\/$/, '');

const ALL_PLATFORMS = ['linux-x64', 'linux-arm64', 'darwin-x64', 'darwin-arm64'];
const argv = process.argv.slice(2);
const platformsArg = (argv.includes('--platforms') ? argv[argv.indexOf('--platforms') + 1] : undefined) ?? process.env.RELEASE_PLATFORMS;
const platforms = platformsArg ? platformsArg.split(',').map((p) => p.trim()).filter(Boolean) : ALL_PLATFORMS;
const skipManifestUpdate = argv.includes('--skip-manifest-update');
const option = (name) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);
const outDir = resolve(option('--out') ?? join(root, 'release'));
// Outside dist/: `npm run build` (run by others, or by `npm test`) empties dist/ and must not pull the floor away.
const workDir = mkdtempSync(join(tmpdir(), 'kubectl-redis-release-'));
process.on('exit', () => {
  if (!process.env.RELEASE_KEEP_WORK) rmSync(workDir, { recursive: true, force: true });
});
const pluginManifest = resolve(option('--manifest') ?? join(root, 'plugin.yaml'));
const host = `${hostPlatform()}-${hostArch()}`;
const started = Date.now();

function log(line) {
  process.stdout.write(`${line}\n`);
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 30, ...opts });
  if (r.status !== 0) {
    const detail = `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? r.error.message : ''}`.trim();
    throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.status ?? r.signal})${detail ? `: ${detail}` : ''}`);
  }
  return r;
}

function files(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return files(path);
    return /\.(ts|js|mjs|cjs)$/.test(path) && !/\.(d|test|spec)\.[cm]?[tj]s$/.test(path) ? [path] : [];
  });
}

/** Command ids from a commands directory as oclif's pattern discovery names them: a/b/index.ts => a:b. */
function commandsIn(dir) {
  return files(dir).map((file) => {
    const parts = relative(dir, file).replace(/\.[cm]?[tj]s$/, '').split(/[\\/]/);
    if (parts.at(-1) === 'index') parts.pop();
    return { id: parts.join(':'), file };
  });
}

/** Every command the executable carries: ours from src/commands/**, then the help and autocomplete plugins'. */
function commandMap() {
  const ours = commandsIn(join(root, 'src', 'commands'));
  const pluginCommands = (pkg.oclif?.plugins ?? []).flatMap((name) => {
    const dir = join(root, 'node_modules', name);
    const pluginPjson = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    const target = typeof pluginPjson.oclif.commands === 'string' ? pluginPjson.oclif.commands : pluginPjson.oclif.commands.target;
    return commandsIn(join(dir, target));
  });
  const seen = new Set();
  return [...ours, ...pluginCommands].filter((c) => !seen.has(c.id) && seen.add(c.id));
}

/**
 * The executable's main module. `manifest === null` (first pass) prints the oclif manifest computed from the
 * command classes instead of running the CLI; the second pass embeds that manifest.
 */
function entrySource(commands, manifest) {
  const embeddedPjson = {
    name: pkg.name,
    version: pkg.version,
    description: pkg.description,
    type: 'commonjs',
    oclif: {
      ...pkg.oclif,
      plugins: [],
      commands: { strategy: 'explicit', target: './kubectl-redis.cjs', identifier: 'COMMANDS' },
    },
  };
  const getters = commands
    .map((c) => `  get ${JSON.stringify(c.id)}() { return command(require(${JSON.stringify(c.file)})); },`)
    .join('\n');
  return `
const { basename, dirname } = require('node:path');
// @oclif/core checks Node's version against its package.json, which a single executable does not have.
const engineWarning = process.env.OCLIF_DISABLE_ENGINE_WARNING;
process.env.OCLIF_DISABLE_ENGINE_WARNING = '1';
const { Plugin, run, flush, handle } = require('@oclif/core');
if (engineWarning === undefined) delete process.env.OCLIF_DISABLE_ENGINE_WARNING;
else process.env.OCLIF_DISABLE_ENGINE_WARNING = engineWarning;
const pjson = ${JSON.stringify(embeddedPjson)};
const manifest = ${manifest === null ? 'null' : JSON.stringify(manifest)};
function command(module) { return module.default ?? Object.values(module).find((v) => typeof v === 'function' && typeof v.run === 'function'); }
// oclif's explicit command map; each command's module is evaluated only when that command runs.
const COMMANDS = {
${getters}
};
class EmbeddedPlugin extends Plugin {
  async _manifest() {
    if (manifest === null) return super._manifest();
    this.commandIDs = Object.keys(manifest.commands);
    return manifest;
  }
}
async function main() {
  const root = dirname(process.execPath);
  const plugin = new EmbeddedPlugin({ root, isRoot: true, pjson, ignoreManifest: true, errorOnManifestCreate: true });
  plugin.commandCache = COMMANDS;
  await plugin.load();
  if (manifest === null) {
    process.stdout.write(JSON.stringify(plugin.manifest));
    return;
  }
  let args = process.argv.slice(2);
  // Linked or copied as kubectl_complete-redis: kubectl's plugin completion protocol.
  if (/^kubectl_complete-redis/.test(basename(process.argv0 || ''))) args = ['__complete', '--', ...args];
  await run(args, { root, pjson, plugins: new Map([[plugin.name, plugin]]) }).then(() => flush(), (error) => handle(error));
}
main().catch((error) => handle(error));
`;
}

// Optional modules the dependencies try to require (ws's native helpers, node-fetch's encoding, oclif's typescript
// in development): in the executable they are absent by design, as a module that throws MODULE_NOT_FOUND, so the
// callers' fallbacks run and Node does not warn that a single executable cannot require from disk.
const ABSENT = /^(bufferutil|utf-8-validate|encoding|typescript|ts-node|tsx)(\/.*)?$/;
const absentModules = {
  name: 'absent-modules',
  setup(b) {
    b.onResolve({ filter: ABSENT }, (args) => ({ path: args.path, namespace: 'absent' }));
    b.onLoad({ filter: /.*/, namespace: 'absent' }, (args) => ({
      contents: `throw Object.assign(new Error(${JSON.stringify(`Cannot find module '${args.path}'`)}), { code: 'MODULE_NOT_FOUND' });`,
      loader: 'js',
    }));
  },
};

async function bundle(commands, manifest, outfile) {
  const result = await build({
    absWorkingDir: root,
    stdin: { contents: entrySource(commands, manifest), resolveDir: root, sourcefile: 'kubectl-redis-sea.cjs', loader: 'js' },
    outfile,
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    minify: !process.env.RELEASE_NO_MINIFY,
    keepNames: true,
    plugins: [absentModules],
    legalComments: 'none',
    logLevel: 'error',
    metafile: true,
  });
  return Object.values(result.metafile.outputs).reduce((sum, o) => sum + o.bytes, 0);
}

/** A Node binary of exactly this version for the platform, or a reason it cannot be had. */
function nodeBinary(target) {
  const [os, cpu] = target.split('-');
  if (target === host) return { path: process.execPath };
  const name = `node-${os}-${cpu}`;
  const dir = join(cacheDir, `${name}-${nodeVersion}`);
  const binPath = join(dir, 'package', 'bin', 'node');
  if (existsSync(binPath)) return { path: binPath };
  mkdirSync(dir, { recursive: true });
  const r = spawnSync('npm', ['pack', `${name}@${nodeVersion}`, '--pack-destination', dir, '--silent'], { encoding: 'utf8', cwd: dir });
  if (r.status !== 0) {
    const why = /E404|404/.test(r.stderr) ? `${name}@${nodeVersion} is not published on the npm registry` : `npm pack ${name}@${nodeVersion} failed: ${r.stderr.trim().split('\n').at(-1)}`;
    return { skip: why };
  }
  const tgz = join(dir, r.stdout.trim().split('\n').at(-1));
  run('tar', ['-xzf', tgz, '-C', dir, 'package/bin/node']);
  rmSync(tgz, { force: true });
  return existsSync(binPath) ? { path: binPath } : { skip: `${name}@${nodeVersion} holds no bin/node` };
}

function hasCommand(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).status === 0;
}

function sha256(path) {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** A gzipped tar of the given files (flat, root-owned, fixed mtime) so the same inputs give the same sha256. */
function targz(archive, dir, names) {
  const mtime = process.env.SOURCE_DATE_EPOCH ?? '0';
  const tar = run('tar', ['-c', '-C', dir, '--owner=0', '--group=0', '--numeric-owner', `--mtime=@${mtime}`, '--format=ustar', ...names], { encoding: 'buffer' });
  mkdirSync(outDir, { recursive: true });
  writeFileSync(archive, gzipSync(tar.stdout, { level: 9 }));
}

function makeBinary(target, blobs, binary) {
  const [os] = target.split('-');
  if (os === 'darwin' && !(hostPlatform() === 'darwin' && hasCommand('codesign'))) {
    return { skip: 'a darwin binary must have its signature removed before injection and be re-signed after, which needs codesign (macOS)' };
  }
  const found = nodeBinary(target);
  if (found.skip) return { skip: found.skip };
  const dir = join(workDir, target);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const out = join(dir, 'kubectl-redis');
  copyFileSync(found.path, out);
  chmodSync(out, 0o755);
  if (os === 'darwin') run('codesign', ['--remove-signature', out]);
  // The code cache is V8's for this machine's CPU: only the native binary gets it.
  const blob = target === host && !argv.includes('--no-code-cache') ? blobs.native : blobs.portable;
  // postject's CLI in a child process: LIEF's warnings about Node's ELF notes stay out of the log unless it fails.
  run(process.execPath, [require.resolve('postject/dist/cli.js'), out, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', SEA_FUSE, ...(os === 'darwin' ? ['--macho-segment-name', 'NODE_SEA'] : [])]);
  if (os === 'darwin') run('codesign', ['--sign', '-', out]);
  if (target === host) {
    const r = spawnSync(out, ['--version'], { encoding: 'utf8', cwd: workDir, env: { ...process.env, NODE_OPTIONS: '' } });
    if (r.status !== 0 || !r.stdout.startsWith(`${pkg.name}/${version}`)) throw new Error(`the built ${target} binary does not run: ${r.stdout}${r.stderr}`);
  }
  copyFileSync(binary, join(dir, 'kubectl_complete-redis'));
  chmodSync(join(dir, 'kubectl_complete-redis'), 0o755);
  copyFileSync(join(root, 'LICENSE'), join(dir, 'LICENSE'));
  const archive = join(outDir, `${pkg.name}_${version}_${os}_${target.split('-')[1] === 'x64' ? 'amd64' : 'arm64'}.tar.gz`);
  targz(archive, dir, ['kubectl-redis', 'kubectl_complete-redis', 'LICENSE']);
  return { archive, size: statSync(out).size, sha256: sha256(archive) };
}

function seaBlob(main, name, useCodeCache) {
  const config = join(workDir, `${name}.sea.json`);
  const output = join(workDir, `${name}.blob`);
  // Paths relative to workDir: the blob records the main script's path, which must not vary between builds.
  writeFileSync(config, JSON.stringify({ main: relative(workDir, main), output: relative(workDir, output), disableExperimentalSEAWarning: true, useCodeCache }));
  // A fixed V8 random seed makes the code cache, and so the archives' sha256, the same on every build (unlike
  // --hash-seed, it is not part of V8's flag hash, so the executable still accepts the cache).
  run(process.execPath, ['--random-seed=1', '--experimental-sea-config', config], { cwd: workDir });
  return output;
}

/** plugin.yaml with this version and one platform per archive built; everything else in it is kept. */
function updatePluginManifest(built) {
  const path = pluginManifest;
  const doc = parseDocument(readFileSync(path, 'utf8'));
  doc.setIn(['spec', 'version'], `v${version}`);
  doc.setIn(['spec', 'homepage'], homepage);
  const platformsNode = doc.createNode(
    built.map((b) => {
      const [os, cpu] = b.target.split('-');
      return {
        selector: { matchLabels: { os, arch: cpu === 'x64' ? 'amd64' : 'arm64' } },
        uri: `${baseUrl}/${b.archive.split('/').at(-1)}`,
        sha256: b.sha256,
        bin: 'kubectl-redis',
        files: [
          { from: 'kubectl-redis', to: '.' },
          { from: 'kubectl_complete-redis', to: '.' },
          { from: 'LICENSE', to: '.' },
        ],
      };
    }),
  );
  doc.setIn(['spec', 'platforms'], platformsNode);
  writeFileSync(path, doc.toString({ lineWidth: 0 }));
}

rmSync(outDir, { recursive: true, force: true });
mkdirSync(outDir, { recursive: true });

const commands = commandMap();
const firstPass = join(workDir, 'manifest.cjs');
await bundle(commands, null, firstPass);
const manifestRun = run(process.execPath, [firstPass], { cwd: workDir });
const manifest = JSON.parse(manifestRun.stdout);
const main = join(workDir, 'kubectl-redis.cjs');
const bytes = await bundle(commands, manifest, main);
log(`bundled ${commands.length} commands (${commands.map((c) => c.id).join(', ')}) into one file (${(bytes / 1e6).toFixed(1)} MB)`);

const blobs = { native: seaBlob(main, 'native', true), portable: seaBlob(main, 'portable', false) };
const completer = join(root, 'bin', 'kubectl_complete-redis');
const built = [];
const skipped = [];
for (const target of platforms) {
  if (!ALL_PLATFORMS.includes(target)) throw new Error(`unknown platform "${target}": use ${ALL_PLATFORMS.join(', ')}`);
  const t0 = Date.now();
  const r = makeBinary(target, blobs, completer);
  if (r.skip) {
    skipped.push(target);
    log(`skipped ${target}: ${r.skip}`);
    continue;
  }
  built.push({ target, ...r });
  log(`built ${relative(root, r.archive)}: binary ${(r.size / 1e6).toFixed(1)} MB, archive ${(statSync(r.archive).size / 1e6).toFixed(1)} MB, sha256 ${r.sha256} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
}
if (built.length === 0) {
  console.error('error: no platform could be built');
  process.exit(1);
}
writeFileSync(join(outDir, 'SHA256SUMS'), built.map((b) => `${b.sha256}  ${b.archive.split('/').at(-1)}\n`).join(''));
if (!skipManifestUpdate) {
  updatePluginManifest(built);
  log(`${relative(root, pluginManifest)}: v${version}, ${built.map((b) => b.target).join(', ')}`);
}
if (process.env.RELEASE_KEEP_WORK) log(`kept ${workDir}`);
log(`release done in ${((Date.now() - started) / 1000).toFixed(1)} s${skipped.length ? ` (skipped: ${skipped.join(', ')})` : ''}`);
