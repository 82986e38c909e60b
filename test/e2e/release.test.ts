// The single executables as krew installs them: every archive of `npm run release` (linux amd64/arm64, darwin
// amd64/arm64 as .tar.gz, windows amd64 as .zip). The archives in release/ are reused when newer than every source;
// otherwise all five are built once here into a temporary directory, with a copy of plugin.yaml for the script to
// rewrite. Checked:
// - the committed plugin.yaml is what the release writes for these sources: same platforms, uris, files, and each
//   sha256 that of the archive built (the build is reproducible, so a stale plugin.yaml fails here);
// - each archive's contents, and each binary by what can be checked on this machine: linux-x64 is run with neither
//   node nor node_modules (--help, --version, status against a sandbox, kubectl's plugin completion through kubectl);
//   linux-arm64's ELF note, darwin's Mach-O segment and windows' PE resource hold the SEA blob; darwin's ad-hoc code
//   signature covers the file, every page hash in its CodeDirectory is the page's SHA-256 and its requirements slot
//   the requirement set's; windows' node.exe Authenticode signature is gone (not left corrupt) and the checksum right;
// - opt-in (RELEASE_TEST_WINE=1, needs wine64; Wine is ~650 MB and slow to start, so CI does not install it):
//   kubectl-redis.exe under Wine with --version, --help, status against the sandbox, and the .cmd completer.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { arch, platform, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { parse } from 'yaml';
import { parseElf, parseMachO, parsePe, parseSeaBlob, peChecksum, peResource, readCodeSignature, readZip, type SeaBlob } from '../support/executables.js';
import { ROOT, run, startSandbox, type RunResult, type TestSandbox } from '../support/sandbox.js';

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string };
const supported = platform() === 'linux' && arch() === 'x64';
const skip = !supported && 'the release is built and run on linux-x64';
const wine = process.env.RELEASE_TEST_WINE === '1';
/** Debian's wine64 package installs /usr/lib/wine/wine64 and puts nothing on PATH (the `wine` package adds /usr/bin/wine). */
const WINE = ['wine64', 'wine'].find((c) => spawnSync('sh', ['-c', `command -v ${c}`]).status === 0) ?? '/usr/lib/wine/wine64';
const FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

interface Platform {
  selector: { matchLabels: Record<string, string> };
  uri: string;
  sha256: string;
  bin: string;
  files: Array<{ from: string; to: string }>;
}
interface Manifest {
  spec: { version: string; platforms: Platform[] };
}

const TARGETS = [
  { os: 'linux', arch: 'amd64', ext: 'tar.gz', bin: 'kubectl-redis', completer: 'kubectl_complete-redis' },
  { os: 'linux', arch: 'arm64', ext: 'tar.gz', bin: 'kubectl-redis', completer: 'kubectl_complete-redis' },
  { os: 'darwin', arch: 'amd64', ext: 'tar.gz', bin: 'kubectl-redis', completer: 'kubectl_complete-redis' },
  { os: 'darwin', arch: 'arm64', ext: 'tar.gz', bin: 'kubectl-redis', completer: 'kubectl_complete-redis' },
  { os: 'windows', arch: 'amd64', ext: 'zip', bin: 'kubectl-redis.exe', completer: 'kubectl_complete-redis.cmd' },
].map((t) => ({ ...t, key: `${t.os}/${t.arch}`, archive: `${pkg.name}_${pkg.version}_${t.os}_${t.arch}.${t.ext}` }));

let work: string;
let releaseDir: string;
let written: Manifest | undefined;
let sandbox: TestSandbox | undefined;
let buildLog = '';
/** Each archive's files, by target key: name => bytes and mode. */
const contents = new Map<string, Map<string, { data: Buffer; mode?: number }>>();

function newestMtime(path: string): number {
  if (!existsSync(path)) return 0;
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  return Math.max(st.mtimeMs, ...readdirSync(path).map((n) => newestMtime(join(path, n))));
}

function readManifest(path: string): Manifest {
  return parse(readFileSync(path, 'utf8')) as Manifest;
}

const linuxDir = () => join(work, 'linux_amd64');

/** The linux binary alone: no node on PATH, no node_modules near it. */
function bin(args: string[], env: Record<string, string> = {}): Promise<RunResult> {
  return run(join(linuxDir(), 'kubectl-redis'), args, { cwd: linuxDir(), env: { PATH: linuxDir(), HOME: work, ...env }, timeoutMs: 20_000 });
}

function file(key: string, name: string): Buffer {
  const f = contents.get(key)?.get(name);
  assert.ok(f, `${name} is not in the ${key} archive`);
  return f.data;
}

function assertSea(blob: Buffer | undefined, where: string): SeaBlob {
  assert.ok(blob, `${where}: no NODE_SEA_BLOB`);
  const sea = parseSeaBlob(blob);
  assert.equal(sea.codePath, 'kubectl-redis.cjs', `${where}: the blob's main script`);
  assert.ok(sea.mainBytes > 1_000_000, `${where}: the bundled CLI is only ${sea.mainBytes} bytes`);
  return sea;
}

function assertFuse(exe: Buffer, where: string): void {
  assert.ok(exe.includes(`${FUSE}:1`), `${where}: the SEA fuse is not set (postject did not inject)`);
  assert.ok(!exe.includes(`${FUSE}:0`), `${where}: an unset SEA fuse is left`);
}

before(async () => {
  if (!supported) return;
  work = mkdtempSync(join(tmpdir(), 'kubectl-redis-release-test-'));
  const sandboxUp = startSandbox({ preset: 'none', nodes: 1 });
  const sources = ['src', 'bin', 'scripts/release.mjs', 'scripts/lib', 'package.json', 'package-lock.json', 'LICENSE'].map((p) => newestMtime(join(ROOT, p)));
  const fresh = TARGETS.every((t) => {
    const a = join(ROOT, 'release', t.archive);
    return existsSync(a) && statSync(a).mtimeMs > Math.max(...sources);
  });
  const manifestCopy = join(work, 'plugin.yaml');
  copyFileSync(join(ROOT, 'plugin.yaml'), manifestCopy);
  if (fresh) {
    releaseDir = join(ROOT, 'release');
  } else {
    releaseDir = join(work, 'release');
    const r = await run(process.execPath, [join(ROOT, 'scripts', 'release.mjs'), '--out', releaseDir, '--manifest', manifestCopy], { timeoutMs: 1_200_000 });
    buildLog = `${r.stdout}${r.stderr}`;
    if (r.code !== 0) {
      await (await sandboxUp).down();
      throw new Error(`npm run release failed (${r.code}): ${buildLog}`);
    }
  }
  // What the release wrote (when it ran here; reused archives are checked against the committed file one by one).
  if (!fresh) written = readManifest(manifestCopy);

  for (const t of TARGETS) {
    const archive = join(releaseDir, t.archive);
    assert.ok(existsSync(archive), `${t.archive} was not built${buildLog ? `\n${buildLog}` : ''}`);
    const files = new Map<string, { data: Buffer; mode?: number }>();
    if (t.ext === 'zip') {
      for (const e of readZip(readFileSync(archive))) {
        assert.ok(e.crcOk, `${t.archive}: ${e.name} does not match its CRC-32`);
        files.set(e.name, { data: e.data });
      }
    } else {
      const dir = join(work, `${t.os}_${t.arch}`);
      mkdirSync(dir);
      const x = await run('tar', ['-xzf', archive, '-C', dir]);
      assert.equal(x.code, 0, x.stderr);
      for (const name of readdirSync(dir)) files.set(name, { data: readFileSync(join(dir, name)), mode: statSync(join(dir, name)).mode });
    }
    contents.set(t.key, files);
  }
  sandbox = await sandboxUp;
});

after(async () => {
  await sandbox?.down();
  if (work) rmSync(work, { recursive: true, force: true });
});

test('the committed plugin.yaml is what npm run release writes for these sources, every sha256 its archive\'s', { skip }, () => {
  const committed = readManifest(join(ROOT, 'plugin.yaml'));
  assert.equal(committed.spec.version, `v${pkg.version}`);
  assert.deepEqual(committed.spec.platforms.map((p) => `${p.selector.matchLabels.os}/${p.selector.matchLabels.arch}`), TARGETS.map((t) => t.key));
  for (const t of TARGETS) {
    const p = committed.spec.platforms.find((x) => `${x.selector.matchLabels.os}/${x.selector.matchLabels.arch}` === t.key);
    assert.ok(p);
    assert.equal(basename(p.uri), t.archive);
    assert.equal(p.bin, t.bin);
    assert.deepEqual(p.files, [t.bin, t.completer, 'LICENSE'].map((from) => ({ from, to: '.' })));
    const sha = createHash('sha256').update(readFileSync(join(releaseDir, t.archive))).digest('hex');
    assert.equal(p.sha256, sha, `plugin.yaml's sha256 for ${t.key} is not that of ${t.archive} built from these sources: run npm run release and commit plugin.yaml`);
  }
  if (written) assert.deepEqual(committed, written, 'plugin.yaml differs from what npm run release writes');
});

test('each archive holds its binary, its completer and LICENSE, and nothing else', { skip }, () => {
  const license = readFileSync(join(ROOT, 'LICENSE'));
  for (const t of TARGETS) {
    const files = contents.get(t.key);
    assert.ok(files);
    assert.deepEqual([...files.keys()].sort(), [t.bin, t.completer, 'LICENSE'].sort(), t.key);
    assert.ok(file(t.key, 'LICENSE').equals(license), `${t.key}: LICENSE`);
    assert.ok(file(t.key, t.completer).equals(readFileSync(join(ROOT, 'bin', t.completer))), `${t.key}: ${t.completer} is not bin/${t.completer}`);
    for (const name of [t.bin, t.completer]) {
      const mode = files.get(name)?.mode;
      if (mode !== undefined) assert.ok(mode & 0o111, `${t.key}: ${name} is not executable`);
    }
  }
  // The Windows completer is a batch file: CRLF lines, and it runs the kubectl-redis.exe beside it.
  const cmd = file('windows/amd64', 'kubectl_complete-redis.cmd').toString('latin1');
  assert.ok(cmd.split('\n').slice(0, -1).every((l) => l.endsWith('\r')), 'kubectl_complete-redis.cmd has LF-only lines');
  assert.match(cmd, /%~dp0kubectl-redis\.exe/);
  assert.match(cmd, /__complete -- %\*/);
});

test('linux arm64: an aarch64 ELF whose note holds the SEA blob', { skip }, () => {
  for (const key of ['linux/amd64', 'linux/arm64']) {
    const exe = file(key, 'kubectl-redis');
    const elf = parseElf(exe);
    assert.equal(elf.machine, key.endsWith('arm64') ? 'arm64' : 'x64', key);
    assertSea(elf.notes.get('NODE_SEA_BLOB'), key);
    assertFuse(exe, key);
  }
});

test('darwin: Mach-O executables with the SEA segment and a valid ad-hoc signature over every page', { skip }, () => {
  for (const key of ['darwin/amd64', 'darwin/arm64']) {
    const exe = file(key, 'kubectl-redis');
    const macho = parseMachO(exe);
    assert.equal(macho.cpu, key.endsWith('arm64') ? 'arm64' : 'x64', key);
    assert.equal(macho.filetype, 2, `${key}: not MH_EXECUTE`);
    const sea = macho.segments.get('NODE_SEA')?.sections.get('__NODE_SEA_BLOB');
    assert.ok(sea, `${key}: no NODE_SEA,__NODE_SEA_BLOB section`);
    assertSea(exe.subarray(sea.offset, sea.offset + sea.size), key);
    assertFuse(exe, key);

    const text = macho.segments.get('__TEXT');
    const linkedit = macho.segments.get('__LINKEDIT');
    assert.ok(text && linkedit && macho.signature, `${key}: no __TEXT, __LINKEDIT or LC_CODE_SIGNATURE`);
    assert.equal(macho.signature.dataoff + macho.signature.datasize, exe.length, `${key}: the signature does not end the file`);
    assert.equal(linkedit.fileoff + linkedit.filesize, exe.length, `${key}: __LINKEDIT does not end the file`);
    const cs = readCodeSignature(exe, macho);
    assert.equal(cs.identifier, 'kubectl-redis');
    assert.ok(cs.flags & 0x2, `${key}: not an ad-hoc signature (flags ${cs.flags.toString(16)})`);
    assert.equal(cs.hashType, 2, `${key}: not SHA-256`);
    assert.equal(cs.pageSizeLog2, 12);
    assert.equal(cs.codeLimit, macho.signature.dataoff, `${key}: the signature does not cover everything before it`);
    assert.deepEqual([cs.execSegBase, cs.execSegLimit, cs.execSegFlags], [text.fileoff, text.filesize, 1], `${key}: executable segment`);
    assert.ok(cs.pages > 20_000, `${key}: only ${cs.pages} pages hashed`);
    assert.deepEqual(cs.badPages, [], `${key}: pages whose hash does not match`);
    assert.deepEqual(cs.slots, [0, 2, 0x10000], `${key}: CodeDirectory, requirements, CMS wrapper`);
    assert.deepEqual(cs.badSpecialSlots, [], `${key}: the requirements' hash in the CodeDirectory`);

    // The check can fail: one byte changed in the SEA blob is a page whose hash no longer matches.
    const tampered = Buffer.from(exe);
    tampered[sea.offset + 100] ^= 0xff;
    assert.deepEqual(readCodeSignature(tampered, macho).badPages, [Math.floor((sea.offset + 100) / 4096)]);
  }
});

test('windows: a PE32+ console executable with the SEA resource, no stale Authenticode signature, a right checksum', { skip }, () => {
  const exe = file('windows/amd64', 'kubectl-redis.exe');
  const pe = parsePe(exe);
  assert.equal(pe.machine, 0x8664, 'not x86-64');
  assert.equal(pe.subsystem, 3, 'not a console program');
  assertSea(peResource(exe, pe, 10, 'NODE_SEA_BLOB'), 'windows/amd64');
  assertFuse(exe, 'windows/amd64');
  // node.exe's signature would be broken by the injection; the release removes it instead of shipping it corrupt.
  assert.deepEqual(pe.security, { offset: 0, size: 0 }, 'the Security directory still names a certificate table');
  const end = Math.max(...pe.sections.map((s) => s.raw + s.rawSize));
  assert.equal(exe.length, end, 'bytes after the last section');
  assert.equal(pe.checksum, peChecksum(exe), 'PE checksum');
});

test('linux amd64: --help runs without node and lists every command in src/commands', { skip }, async () => {
  const r = await bin(['--help']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '', 'nothing on stderr (no SEA or engine warnings)');
  const commands = r.stdout.slice(r.stdout.indexOf('COMMANDS'));
  const dir = join(ROOT, 'src', 'commands');
  const ids = readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts') && !/static (override )?hidden = true/.test(readFileSync(join(dir, f), 'utf8')))
    .map((f) => f.replace(/\.ts$/, '').replace(/\/index$/, '').split('/')[0] ?? '');
  assert.ok(ids.length > 0);
  for (const id of new Set(ids)) assert.match(commands, new RegExp(`^  ${id}\\b`, 'm'), `${id} is missing from --help`);
});

test('linux amd64: --version names this version and the pinned Node', { skip }, async () => {
  const r = await bin(['--version']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`^${pkg.name}/${pkg.version.replace(/\./g, '\\.')} linux-x64 node-v20\\.18\\.1\\b`));
});

test('linux amd64: status reaches the sandbox', { skip }, async () => {
  const r = await bin(['status', '-A', '-o', 'json'], { KUBECONFIG: sandbox?.kubeconfig ?? '' });
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotThrow(() => JSON.parse(r.stdout), `not JSON: ${r.stdout}`);
});

test('linux amd64: kubectl completes `kubectl redis` through kubectl_complete-redis', { skip }, async () => {
  const env = { ...process.env, PATH: `${linuxDir()}:${process.env.PATH}`, KUBECONFIG: sandbox?.kubeconfig ?? '' };
  const commands = await run('kubectl', ['__complete', 'redis', 'st'], { env });
  assert.equal(commands.code, 0, commands.stderr);
  assert.match(commands.stdout, /^status(\t.*)?$/m);
  assert.match(commands.stdout, /^:4$/m);
  const flags = await run('kubectl', ['__complete', 'redis', 'status', '--out'], { env });
  assert.match(flags.stdout, /^--output\t/m);
  const namespaces = await run('kubectl', ['__complete', 'redis', 'status', '-n', ''], { env });
  assert.match(namespaces.stdout, /^kube-system$/m, namespaces.stdout + namespaces.stderr);
});

test('linux amd64: the binary linked as kubectl_complete-redis answers the protocol itself', { skip }, async () => {
  const link = join(work, 'kubectl_complete-redis');
  symlinkSync(join(linuxDir(), 'kubectl-redis'), link);
  const r = await run(link, ['status', '-o', ''], { env: { PATH: linuxDir(), HOME: work } });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n'), ['table', 'wide', 'json', 'yaml', ':4']);
});

/**
 * A Windows program under Wine, its stdout and stderr through files: Node under Wine cannot write to a Unix pipe
 * (libuv fails to open it, EBADF), a terminal or a file it can.
 */
function underWine(prefix: string, cwd: string, program: string, args: string[], env: Record<string, string> = {}): RunResult {
  const out = join(cwd, 'wine.out');
  const err = join(cwd, 'wine.err');
  const fds = [openSync(out, 'w'), openSync(err, 'w')] as const;
  const r = spawnSync(WINE, [program, ...args], { cwd, stdio: ['ignore', fds[0], fds[1]], timeout: 180_000, env: { ...process.env, WINEPREFIX: prefix, WINEDEBUG: '-all', ...env } });
  fds.forEach((fd) => closeSync(fd));
  return { code: r.status ?? 124, stdout: readFileSync(out, 'utf8'), stderr: `${readFileSync(err, 'utf8')}${r.error ? r.error.message : ''}` };
}

test('windows amd64 under Wine: --version, --help, status against the sandbox, the .cmd completer', { skip: skip || (!wine && 'opt-in: RELEASE_TEST_WINE=1 (needs wine64)') }, () => {
  const dir = join(work, 'windows_amd64');
  mkdirSync(dir);
  for (const name of ['kubectl-redis.exe', 'kubectl_complete-redis.cmd']) writeFileSync(join(dir, name), file('windows/amd64', name));
  // Kept between runs: a new Wine prefix takes half a minute to set up.
  const prefix = join(ROOT, 'node_modules', '.cache', 'kubectl-redis-release', 'wine');
  mkdirSync(prefix, { recursive: true });
  // Wine's default Windows is 7, on which Node 20 refuses to start; 10 is one Node supports.
  const setup = underWine(prefix, dir, 'winecfg', ['/v', 'win10']);
  assert.equal(setup.code, 0, setup.stderr);
  const exe = join(dir, 'kubectl-redis.exe');
  const log: string[] = [];
  const step = (args: string[], program = exe): RunResult => {
    const r = underWine(prefix, dir, program, args);
    log.push(`$ wine64 ${basename(program)} ${args.map((a) => (a === '' ? "''" : a)).join(' ')}\n${r.stdout}${r.stderr ? `[stderr]\n${r.stderr}` : ''}[exit ${r.code}]`);
    return r;
  };
  try {
    const version = step(['--version']);
    assert.equal(version.code, 0, version.stderr);
    assert.match(version.stdout, new RegExp(`^${pkg.name}/${pkg.version.replace(/\./g, '\\.')} win32-x64 node-v20\\.18\\.1\\b`));

    const help = step(['--help']);
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /^ {2}status\b/m);
    assert.equal(help.stderr, '', 'nothing on stderr (no SEA or engine warnings)');

    // Wine's Z: drive is the Unix root; Node resolves /tmp/... on it.
    const status = step(['status', '-A', '-o', 'json', '--kubeconfig', sandbox?.kubeconfig ?? '']);
    assert.equal(status.code, 0, status.stderr);
    assert.doesNotThrow(() => JSON.parse(status.stdout), `not JSON: ${status.stdout}`);

    // As kubectl runs it on Windows: the .cmd that PATHEXT finds, with the words typed so far and the word being
    // completed last (empty: Wine quotes it as "" on the command line, as Go's exec does).
    const commands = step(['/c', 'kubectl_complete-redis.cmd', 'st'], 'cmd');
    assert.equal(commands.code, 0, commands.stderr);
    assert.match(commands.stdout, /^status\t/m);
    const formats = step(['/c', 'kubectl_complete-redis.cmd', 'status', '-o', ''], 'cmd');
    assert.equal(formats.code, 0, formats.stderr);
    assert.deepEqual(formats.stdout.trim().split(/\r?\n/), ['table', 'wide', 'json', 'yaml', ':4']);
  } finally {
    process.stdout.write(`# kubectl-redis.exe under Wine (${spawnSync(WINE, ['--version'], { encoding: 'utf8' }).stdout.trim()})\n${log.map((l) => l.replace(/^/gm, '# ')).join('\n')}\n`);
  }
});
