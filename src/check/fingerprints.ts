// Keyed fingerprints of the key IDs and key material a check saw, so that a later check of the same target
// can tell when a KME hands out an ID or material again (after a restart, say: a one-time pad used twice).
// Only HMACs under a local secret are kept, never key bytes; without the secret the hashes say nothing.
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { z } from 'zod';

export const FINGERPRINT_FILE_NAME = 'check-fingerprints.json';
const KEY_BYTES_MIN = 16;
const NEW_KEY_BYTES = 32;

export class FingerprintError extends Error {}

export interface FingerprintKey {
  readonly secret: Buffer;
  /** Names the secret without giving it away: two files can be compared only when their key IDs match. */
  readonly id: string;
}

export interface FingerprintFile {
  readonly schema: 'kmesim-fingerprints/1';
  readonly keyId: string;
  readonly target: string;
  readonly seed: number;
  /** Keyed hashes of the key IDs seen, sorted, each once. */
  readonly ids: readonly string[];
  /** Keyed hashes of the key material seen, sorted, each once. */
  readonly material: readonly string[];
}

const fingerprintFileSchema = z.object({
  schema: z.literal('kmesim-fingerprints/1'),
  keyId: z.string().min(1),
  target: z.string(),
  seed: z.number().int(),
  ids: z.array(z.string()),
  material: z.array(z.string()),
});

function toKey(secret: Buffer): FingerprintKey {
  return { secret, id: createHash('sha256').update('kmesim-fingerprint-key-id').update(secret).digest('hex').slice(0, 12) };
}

/** Hex (even length) or base64 (standard or URL-safe); null when the text is neither. */
function parseSecret(text: string): Buffer | null {
  const trimmed = text.trim();
  if (/^(?:[0-9a-fA-F]{2})+$/.test(trimmed)) return Buffer.from(trimmed, 'hex');
  if (/^[A-Za-z0-9+/]+={0,2}$/.test(trimmed) || /^[A-Za-z0-9_-]+={0,2}$/.test(trimmed)) {
    const bytes = Buffer.from(trimmed, trimmed.includes('-') || trimmed.includes('_') ? 'base64url' : 'base64');
    return bytes.length === 0 ? null : bytes;
  }
  return null;
}

function secretFrom(text: string, source: string): Buffer {
  const secret = parseSecret(text);
  if (secret === null) throw new FingerprintError(`${source}: the fingerprint key must be hex or base64`);
  if (secret.length < KEY_BYTES_MIN) throw new FingerprintError(`${source}: the fingerprint key has ${secret.length} bytes, at least ${KEY_BYTES_MIN} are needed`);
  return secret;
}

/**
 * The fingerprint key: the value of KMESIM_FINGERPRINT_KEY when it is set (and not empty), otherwise the
 * secret in `file`, which is made (32 random bytes, hex, readable by its owner only) when it does not exist.
 */
export async function loadFingerprintKey(options: { env?: string | undefined; file: string }): Promise<FingerprintKey> {
  if (options.env !== undefined && options.env.trim() !== '') return toKey(secretFrom(options.env, 'KMESIM_FINGERPRINT_KEY'));
  const { file } = options;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new FingerprintError(`${file}: cannot read the fingerprint key (${(error as Error).message})`);
    return toKey(await createKeyFile(file));
  }
  return toKey(secretFrom(text, file));
}

async function createKeyFile(file: string): Promise<Buffer> {
  const secret = randomBytes(NEW_KEY_BYTES);
  try {
    await mkdir(dirname(file), { recursive: true });
    // 'wx': when another check made the file first, its key is the one to use.
    await writeFile(file, `${secret.toString('hex')}\n`, { encoding: 'utf8', mode: 0o600, flag: 'wx' });
    return secret;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return secretFrom(await readFile(file, 'utf8'), file);
    throw new FingerprintError(`${file}: cannot create the fingerprint key (${(error as Error).message})`);
  }
}

/** HMAC-SHA256 under the fingerprint key, as the first `hexChars` hex digits. */
export function keyedHash(key: FingerprintKey, data: Buffer | string, hexChars = 16): string {
  return createHmac('sha256', key.secret).update(data).digest('hex').slice(0, hexChars);
}

export function renderFingerprintFile(file: FingerprintFile): string {
  const ordered: FingerprintFile = {
    schema: file.schema,
    keyId: file.keyId,
    target: file.target,
    seed: file.seed,
    ids: [...new Set(file.ids)].sort(),
    material: [...new Set(file.material)].sort(),
  };
  return `${JSON.stringify(ordered, null, 2)}\n`;
}

/**
 * An earlier check's fingerprints. `path` is the fingerprint file, the folder a check wrote its reports
 * into, or that folder's check.json (the fingerprints are its sibling).
 */
export async function readFingerprintFile(path: string): Promise<FingerprintFile & { path: string }> {
  let file = path;
  try {
    if ((await stat(path)).isDirectory()) file = join(path, FINGERPRINT_FILE_NAME);
  } catch {
    throw new FingerprintError(`${path}: no such file or folder (expected a check's report folder, its check.json or its ${FINGERPRINT_FILE_NAME})`);
  }
  let json = await readJson(file);
  if (isCheckReport(json) && basename(file) !== FINGERPRINT_FILE_NAME) {
    file = join(dirname(file), FINGERPRINT_FILE_NAME);
    json = await readJson(file);
  }
  const parsed = fingerprintFileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue === undefined || issue.path.length === 0 ? '' : ` at ${issue.path.join('.')}`;
    throw new FingerprintError(`${file}: not a kmesim fingerprint file${where}: ${(issue?.message ?? 'invalid').replace(/\s+/g, ' ')}`);
  }
  return { ...parsed.data, path: file };
}

async function readJson(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new FingerprintError(code === 'ENOENT' ? `${file}: no such file` : `${file}: cannot read it (${code ?? (error as Error).message})`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new FingerprintError(`${file}: not JSON`);
  }
}

function isCheckReport(json: unknown): boolean {
  return typeof json === 'object' && json !== null && 'schemaVersion' in json && !('schema' in json);
}

/**
 * Which of what this check saw an earlier check had seen too. The maps go from keyed hash to whatever the
 * caller wants back (a transcript entry, a key ID); each value is returned once, IDs before material.
 * Hashes made under different fingerprint keys cannot be compared: then `comparable` is false.
 */
export function compareFingerprints<T>(
  previous: FingerprintFile,
  current: { readonly keyId: string; readonly ids: ReadonlyMap<string, T>; readonly material: ReadonlyMap<string, T> },
): { comparable: boolean; seenAgain: T[] } {
  if (previous.keyId !== current.keyId) return { comparable: false, seenAgain: [] };
  const ids = new Set(previous.ids);
  const material = new Set(previous.material);
  const seenAgain = new Set<T>();
  for (const [hash, value] of current.ids) if (ids.has(hash)) seenAgain.add(value);
  for (const [hash, value] of current.material) if (material.has(hash)) seenAgain.add(value);
  return { comparable: true, seenAgain: [...seenAgain] };
}
