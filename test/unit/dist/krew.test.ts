// plugin.yaml against krew's manifest rules (krew's pkg/index/validation), and against what `npm run release` names
// and versions. The archives' sha256 and contents are checked by test/e2e/release.test.ts, which builds them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const ROOT = resolve(fileURLToPath(new URL('../../..', import.meta.url)));
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string };

interface Platform {
  selector?: { matchLabels?: Record<string, string>; matchExpressions?: unknown[] };
  uri?: string;
  sha256?: string;
  bin?: string;
  files?: Array<{ from?: string; to?: string }>;
}

interface KrewManifest {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string };
  spec?: {
    version?: string;
    homepage?: string;
    shortDescription?: string;
    description?: string;
    caveats?: string;
    platforms?: Platform[];
  };
}

const manifest = parse(readFileSync(join(ROOT, 'plugin.yaml'), 'utf8')) as KrewManifest;
const platforms = manifest.spec?.platforms ?? [];

// semver 2.0 with krew's mandatory "v" prefix
const SEMVER = /^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$/;
const OSES = ['linux', 'darwin', 'windows'];
const ARCHES = ['amd64', 'arm64', '386', 'arm', 'ppc64le', 's390x'];

test('apiVersion, kind and name are what krew accepts', () => {
  assert.equal(manifest.apiVersion, 'krew.googlecontainertools.github.com/v1alpha2');
  assert.equal(manifest.kind, 'Plugin');
  assert.equal(manifest.metadata?.name, 'redis');
  assert.match(manifest.metadata?.name ?? '', /^[a-z0-9][a-z0-9-]*$/);
});

test('version is semver with the v prefix, and is package.json version', () => {
  assert.match(manifest.spec?.version ?? '', SEMVER);
  assert.equal(manifest.spec?.version, `v${pkg.version}`, 'plugin.yaml is for another version: run npm run release');
});

test('descriptions, homepage and caveats are present; caveats name deploy/rbac', () => {
  const short = manifest.spec?.shortDescription ?? '';
  assert.ok(short.trim().length > 0, 'shortDescription is required');
  assert.ok(short.length <= 50, `shortDescription is ${short.length} characters; krew-index wants it short (<= 50)`);
  assert.ok(!short.endsWith('.'), 'shortDescription is a phrase, without a final period');
  assert.ok((manifest.spec?.description ?? '').trim().length > short.length, 'description says more than shortDescription');
  assert.match(manifest.spec?.homepage ?? '', /^https:\/\//);
  assert.match(manifest.spec?.caveats ?? '', /deploy\/rbac/);
});

test('at least one platform, each with a selector, uri, sha256 and bin', () => {
  assert.ok(platforms.length > 0, 'no platforms');
  for (const [i, p] of platforms.entries()) {
    const where = `platforms[${i}]`;
    const labels = p.selector?.matchLabels;
    assert.ok(labels && Object.keys(labels).length > 0, `${where}: selector.matchLabels is required`);
    assert.ok(OSES.includes(labels.os ?? ''), `${where}: os "${labels.os}" is not one of ${OSES.join(', ')}`);
    assert.ok(ARCHES.includes(labels.arch ?? ''), `${where}: arch "${labels.arch}" is not one of ${ARCHES.join(', ')}`);
    assert.match(p.uri ?? '', /^https:\/\/\S+\.(tar\.gz|zip)$/, `${where}: uri must be an https .tar.gz or .zip (krew unpacks both)`);
    assert.match(p.sha256 ?? '', /^[0-9a-f]{64}$/, `${where}: sha256 must be 64 lowercase hex digits`);
    assert.ok(p.bin && !p.bin.includes('..') && !p.bin.startsWith('/'), `${where}: bin must be a relative path inside the archive`);
    for (const f of p.files ?? []) assert.ok(f.from && f.to, `${where}: every files entry needs from and to`);
    if (p.files) assert.ok(p.files.some((f) => f.from === p.bin || f.from === '*'), `${where}: files must extract bin`);
  }
});

test('no two platforms match the same os/arch', () => {
  const keys = platforms.map((p) => `${p.selector?.matchLabels?.os}/${p.selector?.matchLabels?.arch}`);
  assert.equal(new Set(keys).size, keys.length, `duplicate selectors: ${keys.join(', ')}`);
});

test('each uri names the archive npm run release builds for its platform and this version', () => {
  for (const p of platforms) {
    const { os, arch } = p.selector?.matchLabels ?? {};
    // krew's conventions: a .zip and an .exe on Windows (krew links bin as kubectl-redis.exe there).
    const archive = `${pkg.name}_${pkg.version}_${os}_${arch}.${os === 'windows' ? 'zip' : 'tar.gz'}`;
    assert.ok(p.uri?.endsWith(`/${archive}`), `${p.uri} is not ${archive}`);
    assert.ok(p.uri?.includes(`/v${pkg.version}/`), `${p.uri} is not under the v${pkg.version} release`);
    assert.equal(p.bin, os === 'windows' ? 'kubectl-redis.exe' : 'kubectl-redis');
  }
});

test('every platform kubectl users have: linux, darwin (Intel and Apple silicon) and windows', () => {
  const keys = platforms.map((p) => `${p.selector?.matchLabels?.os}/${p.selector?.matchLabels?.arch}`).sort();
  assert.deepEqual(keys, ['darwin/amd64', 'darwin/arm64', 'linux/amd64', 'linux/arm64', 'windows/amd64']);
});

test('linux/amd64 is always there (the platform every release can build)', () => {
  assert.ok(platforms.some((p) => p.selector?.matchLabels?.os === 'linux' && p.selector?.matchLabels?.arch === 'amd64'));
});
