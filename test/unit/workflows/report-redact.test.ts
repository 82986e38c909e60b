// report's redaction: by meaning (config options, env vars, config files, ACL rules, Secret objects) and by value
// (every form of a Secret's value scrubbed from any text), table-driven and as properties.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { KubeObject } from '../../../src/kube/types.js';
import { podReferences } from '../../../src/workflows/report/index.js';
import { configPairs, isSecretName, redactAclRules, redactArgs, redactConfig, redactConfigText, redactObject, REDACTED, scrub, scrubList } from '../../../src/workflows/report/redact.js';

test('credential names, and names that only look like them', () => {
  for (const n of ['requirepass', 'masterauth', 'tls-key-file-pass', 'tls-client-key-file-pass', 'sentinel-pass', 'REDIS_PASSWORD', 'password', 'passwd', 'API_TOKEN', 'token', 'client-secret', 'CLIENT_SECRET', 'apiKey', 'private_key', 'auth-pass']) assert.ok(isSecretName(n), n);
  for (const n of ['masteruser', 'tls-key-file', 'tls-cert-file', 'port', 'existingSecret', 'secretName', 'secretKeyRef', 'passwordSecret', 'maxmemory', 'protected-mode', 'tls-auth-clients', 'appendonly']) assert.ok(!isSecretName(n), n);
});

test('CONFIG GET *: credential options redacted, an empty one stays empty, the rest untouched', () => {
  const pairs = configPairs(['requirepass', 's3cret-pw', 'masterauth', 's3cret-pw', 'tls-key-file-pass', '', 'port', '6379', 'masteruser', 'repl']);
  const { config, redacted } = redactConfig(pairs);
  assert.deepEqual(config, { masterauth: REDACTED, masteruser: 'repl', port: '6379', requirepass: REDACTED, 'tls-key-file-pass': '' });
  assert.deepEqual(redacted.sort(), ['masterauth', 'requirepass']);
  assert.deepEqual(configPairs({ a: 'b' }), { a: 'b' }, 'RESP3 map reply');
});

test('ACL rules lose passwords and hashes, keep the rest', () => {
  assert.equal(redactAclRules('user alice on >pw1 <pw2 #0123abcd !deadbeef ~cache:* +@read'), `user alice on >${REDACTED} <${REDACTED} #${REDACTED} !${REDACTED} ~cache:* +@read`);
  assert.equal(redactAclRules('user default on nopass ~* &* +@all'), 'user default on nopass ~* &* +@all');
});

test('redis.conf / sentinel.conf text', () => {
  const conf = ['# requirepass example', 'requirepass hunter22', 'masterauth "hunter22"', 'port 6379', 'user app on >apppw ~* +@all',
    'sentinel auth-pass mymaster hunter22', 'sentinel monitor mymaster 10.0.0.1 6379 2', 'sentinel sentinel-pass spw', 'tls-key-file /tls/k.key', 'requirepass ""'].join('\n');
  assert.deepEqual(redactConfigText(conf).split('\n'), ['# requirepass example', `requirepass ${REDACTED}`, `masterauth ${REDACTED}`, 'port 6379', `user app on >${REDACTED} ~* +@all`,
    `sentinel auth-pass mymaster ${REDACTED}`, 'sentinel monitor mymaster 10.0.0.1 6379 2', `sentinel sentinel-pass ${REDACTED}`, 'tls-key-file /tls/k.key', 'requirepass ""']);
});

test('command lines', () => {
  assert.deepEqual(redactArgs(['redis-server', '--requirepass', 'pw', '--masterauth=pw', '--port', '6379']), ['redis-server', '--requirepass', REDACTED, `--masterauth=${REDACTED}`, '--port', '6379']);
  assert.deepEqual(redactArgs(['redis-cli', '-a', 'pw', 'ping']), ['redis-cli', '-a', REDACTED, 'ping']);
});

test('objects: a Secret keeps its keys and sizes only; env values, args and ConfigMap config files are redacted', () => {
  const secret: KubeObject = {
    apiVersion: 'v1', kind: 'Secret',
    metadata: { name: 's', annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"data":{"password":"aHVudGVyMjI="}}', keep: 'me' }, managedFields: [{ manager: 'x' }] } as KubeObject['metadata'],
    data: { password: Buffer.from('hunter22').toString('base64') },
    stringData: { token: 'abcdef' },
  };
  const r = redactObject(secret) as KubeObject & { stringData?: Record<string, string> };
  assert.deepEqual(r.data, { password: `${REDACTED} 8 bytes` });
  assert.deepEqual(r.stringData, { token: `${REDACTED} 6 bytes` });
  assert.deepEqual(r.metadata.annotations, { keep: 'me' });
  assert.equal((r.metadata as { managedFields?: unknown }).managedFields, undefined);
  assert.ok(!JSON.stringify(r).includes('aHVudGVyMjI'));

  const sts: KubeObject = {
    kind: 'StatefulSet', metadata: { name: 'x' },
    spec: { template: { spec: { containers: [{ name: 'redis', args: ['--requirepass', 'hunter22'], env: [{ name: 'REDIS_PASSWORD', value: 'hunter22' }, { name: 'REDIS_PASSWORD_FILE', valueFrom: { secretKeyRef: { name: 's', key: 'password' } } }, { name: 'PORT', value: '6379' }] }] } }, existingSecret: 's', password: 'inline-pw' },
  };
  const j = JSON.stringify(redactObject(sts));
  assert.ok(!j.includes('hunter22') && !j.includes('inline-pw'), j);
  assert.match(j, /"secretKeyRef":\{"name":"s","key":"password"\}/, 'references stay');
  assert.match(j, /"existingSecret":"s"/);
  assert.match(j, /"name":"PORT","value":"6379"/);

  const cm = redactObject({ kind: 'ConfigMap', metadata: { name: 'c' }, data: { 'redis.conf': 'requirepass hunter22\nport 6379' } });
  assert.equal(cm.data?.['redis.conf'], `requirepass ${REDACTED}\nport 6379`);
});

test('scrub: every form of a value goes, in any text (property)', () => {
  fc.assert(
    fc.property(fc.string({ minLength: 4, maxLength: 40 }).filter((s) => s.trim().length >= 4 && !s.includes(REDACTED)), fc.string(), fc.string(), (secret, before, after) => {
      const list = scrubList([secret]);
      for (const form of [secret, Buffer.from(secret).toString('base64')]) {
        const out = scrub(`${before}${form}${after}${form}`, list).text;
        assert.ok(!out.includes(secret.trim()), `${JSON.stringify(out)} still holds the secret`);
      }
    }),
  );
});

test('scrub: PEM keys go line by line too; short values are left alone', () => {
  const pem = `-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nBKcwggSjAgEAAoIBAQC7\n-----END PRIVATE KEY-----\n`;
  const list = scrubList([pem, 'yes']);
  const { text, replaced } = scrub('found MIIEvQIBADANBgkqhkiG9w0BAQEFAASC in a log; yes', list);
  assert.equal(text, `found ${REDACTED} in a log; yes`);
  assert.equal(replaced, 1);
});

test('podReferences: Secrets, ConfigMaps and PVCs a pod refers to, every way it can', () => {
  const pod = {
    metadata: { name: 'p' },
    spec: {
      containers: [{ name: 'c', env: [{ name: 'A', valueFrom: { secretKeyRef: { name: 's1', key: 'k' } } }, { name: 'B', valueFrom: { configMapKeyRef: { name: 'c1', key: 'k' } } }], envFrom: [{ secretRef: { name: 's2' } }, { configMapRef: { name: 'c2' } }] }],
      initContainers: [{ name: 'i', envFrom: [{ secretRef: { name: 's3' } }] }],
      volumes: [{ secret: { secretName: 's4' } }, { configMap: { name: 'c3' } }, { persistentVolumeClaim: { claimName: 'data-p' } }, { projected: { sources: [{ secret: { name: 's5' } }, { configMap: { name: 'c4' } }] } }],
      imagePullSecrets: [{ name: 'pull' }],
    },
  } as unknown as KubeObject;
  const r = podReferences([pod]);
  assert.deepEqual([...r.secrets].sort(), ['pull', 's1', 's2', 's3', 's4', 's5']);
  assert.deepEqual([...r.configMaps].sort(), ['c1', 'c2', 'c3', 'c4']);
  assert.deepEqual([...r.pvcs], ['data-p']);
});
