// The fingerprint key (from the environment, from a file, made when missing), keyed hashes, the fingerprint
// file written and read back from its three kinds of path, one-line errors, and the comparison.
import { createHash, createHmac } from 'node:crypto';
import { mkdir, mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import {
  compareFingerprints,
  FingerprintError,
  keyedHash,
  loadFingerprintKey,
  readFingerprintFile,
  renderFingerprintFile,
  type FingerprintFile,
} from '../../../src/check/fingerprints.js';

const SECRET_HEX = '00112233445566778899aabbccddeeff0011223344556677';

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'kmesim-fingerprints-'));
}

function idOf(secret: Buffer): string {
  return createHash('sha256').update(Buffer.concat([Buffer.from('kmesim-fingerprint-key-id'), secret])).digest('hex').slice(0, 12);
}

async function expectFingerprintError(promise: Promise<unknown>, pattern: RegExp): Promise<void> {
  const error = await promise.then(() => null, (caught: unknown) => caught);
  expect(error).toBeInstanceOf(FingerprintError);
  const message = (error as Error).message;
  expect(message).toMatch(pattern);
  expect(message).not.toContain('\n');
}

it('makes the key file when it is missing, hex, owner-only, and reads the same key back', async () => {
  const file = join(await tempDir(), 'deep', '.kmesim', 'fingerprint.key');
  const made = await loadFingerprintKey({ file });
  const text = await readFile(file, 'utf8');
  expect(text).toMatch(/^[0-9a-f]{64}\n$/);
  expect(made.secret.toString('hex')).toBe(text.trim());
  expect(made.id).toBe(idOf(made.secret));
  expect(made.id).toMatch(/^[0-9a-f]{12}$/);
  if (process.platform !== 'win32') expect((await stat(file)).mode & 0o777).toBe(0o600);
  const again = await loadFingerprintKey({ file });
  expect(again.secret.equals(made.secret)).toBe(true);
  expect(again.id).toBe(made.id);
});

it('takes the key from the environment value, hex or base64, over the file', async () => {
  const file = join(await tempDir(), 'fingerprint.key');
  const secret = Buffer.from(SECRET_HEX, 'hex');
  const fromHex = await loadFingerprintKey({ env: SECRET_HEX, file });
  const fromBase64 = await loadFingerprintKey({ env: secret.toString('base64'), file });
  const fromBase64Url = await loadFingerprintKey({ env: ` ${secret.toString('base64url')}\n`, file });
  for (const key of [fromHex, fromBase64, fromBase64Url]) {
    expect(key.secret.equals(secret)).toBe(true);
    expect(key.id).toBe(idOf(secret));
  }
  await expect(stat(file)).rejects.toThrow();
  // An empty value counts as not set.
  await loadFingerprintKey({ env: '', file });
  expect((await stat(file)).isFile()).toBe(true);
});

it('refuses keys that are short or neither hex nor base64, in one line naming where they came from', async () => {
  const dir = await tempDir();
  await expectFingerprintError(loadFingerprintKey({ env: '0011223344', file: join(dir, 'k') }), /^KMESIM_FINGERPRINT_KEY: .*5 bytes, at least 16/);
  await expectFingerprintError(loadFingerprintKey({ env: 'not a key!', file: join(dir, 'k') }), /^KMESIM_FINGERPRINT_KEY: .*hex or base64/);
  const bad = join(dir, 'bad.key');
  await writeFile(bad, 'zz zz\n');
  await expectFingerprintError(loadFingerprintKey({ file: bad }), new RegExp(`^${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `));
  await expectFingerprintError(loadFingerprintKey({ file: dir }), /cannot read the fingerprint key/);
});

it('hashes with HMAC-SHA256, cut to the asked length, the same for a string and its bytes', async () => {
  const key = await loadFingerprintKey({ env: SECRET_HEX, file: '/nonexistent/never/read' });
  const full = createHmac('sha256', Buffer.from(SECRET_HEX, 'hex')).update('key-id-1').digest('hex');
  expect(keyedHash(key, 'key-id-1')).toBe(full.slice(0, 16));
  expect(keyedHash(key, Buffer.from('key-id-1'), 32)).toBe(full.slice(0, 32));
  const other = await loadFingerprintKey({ env: 'ff'.repeat(16), file: '/nonexistent/never/read' });
  expect(keyedHash(other, 'key-id-1')).not.toBe(keyedHash(key, 'key-id-1'));
});

function createFile(overrides: Partial<FingerprintFile> = {}): FingerprintFile {
  return { schema: 'kmesim-fingerprints/1', keyId: 'abcdef012345', target: 'targets/lab.yaml', seed: 7, ids: ['b2', 'a1', 'b2'], material: ['m2', 'm1'], ...overrides };
}

it('writes the file sorted and de-duplicated, and reads it from the file, its folder or the sibling check.json', async () => {
  const dir = join(await tempDir(), 'reports');
  await mkdir(dir);
  const text = renderFingerprintFile(createFile());
  expect(text.endsWith('}\n')).toBe(true);
  await writeFile(join(dir, 'check-fingerprints.json'), text);
  await writeFile(join(dir, 'check.json'), JSON.stringify({ schemaVersion: 2, seed: 7 }));
  const expected = { ...createFile(), ids: ['a1', 'b2'], material: ['m1', 'm2'], path: join(dir, 'check-fingerprints.json') };
  expect(await readFingerprintFile(join(dir, 'check-fingerprints.json'))).toEqual(expected);
  expect(await readFingerprintFile(dir)).toEqual(expected);
  expect(await readFingerprintFile(join(dir, 'check.json'))).toEqual(expected);
});

it('names the file in one line when it is missing, not JSON or not a fingerprint file', async () => {
  const dir = await tempDir();
  await expectFingerprintError(readFingerprintFile(join(dir, 'nowhere')), /nowhere: no such file or folder/);
  await expectFingerprintError(readFingerprintFile(dir), /check-fingerprints\.json: no such file/);
  await writeFile(join(dir, 'check.json'), JSON.stringify({ schemaVersion: 2 }));
  await expectFingerprintError(readFingerprintFile(join(dir, 'check.json')), /check-fingerprints\.json: no such file/);
  const notJson = join(dir, 'a.json');
  await writeFile(notJson, '{"schema": ');
  await expectFingerprintError(readFingerprintFile(notJson), /a\.json: not JSON$/);
  const wrong = join(dir, 'b.json');
  await writeFile(wrong, JSON.stringify({ ...createFile(), schema: 'kmesim-fingerprints/9' }));
  await expectFingerprintError(readFingerprintFile(wrong), /b\.json: not a kmesim fingerprint file at schema: /);
  const badIds = join(dir, 'c.json');
  await writeFile(badIds, JSON.stringify({ ...createFile(), ids: 'a1' }));
  await expectFingerprintError(readFingerprintFile(badIds), /c\.json: not a kmesim fingerprint file at ids: /);
});

it('returns what was seen again, each once, and nothing when the keys differ', () => {
  const previous = createFile({ ids: ['a1', 'b2'], material: ['m1'] });
  const ids = new Map([['a1', 1], ['zz', 2], ['b2', 3]]);
  const material = new Map([['m1', 1], ['m9', 4]]);
  expect(compareFingerprints(previous, { keyId: previous.keyId, ids, material })).toEqual({ comparable: true, seenAgain: [1, 3] });
  expect(compareFingerprints(previous, { keyId: previous.keyId, ids: new Map<string, number>(), material })).toEqual({ comparable: true, seenAgain: [1] });
  expect(compareFingerprints(previous, { keyId: 'another', ids, material })).toEqual({ comparable: false, seenAgain: [] });
});
