// A small one-time-pad mail client of the kind a project would test with kmesim/testing: the sender gets
// keys for the reader from its KME (enc_keys) and XORs the message with them, key after key; the reader
// fetches the same keys by ID from its own KME (dec_keys) and XORs them off in the same order. It reports
// the keys it used to a ledger (the hooks a project adds to its sealing code). `bug` plants one of five
// mistakes real clients make; `stretch` pads two stretches of the message with each key, on both sides, so
// that every message opens and every hook reports the right keys: only the reference OTP (U7) sees it.
export type ClientBug = 'reuse' | 'reverse' | 'skip-dec' | 'no-consume' | 'stretch';

export interface OtpClientOptions {
  /** The fetch to send requests with (the harness's recording one). */
  readonly fetch: typeof fetch;
  /** Base URL of each SAE's own KME. */
  readonly kmeOf: (sae: string) => string;
  readonly keyBytes: number;
  readonly maxKeysPerRequest: number;
  readonly bug?: ClientBug;
  /** The sealing and opening hooks: which keys were used, in the order they were applied. */
  readonly onSeal?: (message: string, sender: string, keyIds: readonly string[]) => void;
  readonly onOpen?: (message: string, reader: string, keyIds: readonly string[]) => void;
}

export interface Envelope {
  readonly id: string;
  readonly from: string;
  readonly keyIds: readonly string[];
  readonly ciphertext: Uint8Array;
}

interface Key {
  readonly id: string;
  readonly bytes: Uint8Array;
}

export class OtpClientError extends Error {}

export function createOtpClient(options: OtpClientOptions) {
  const { fetch: send, kmeOf, keyBytes, bug } = options;
  // What the buggy clients keep: the last keys fetched (reuse), and the bytes the sender got (skip-dec).
  let lastKeys: Key[] = [];
  const leaked = new Map<string, Uint8Array>();

  async function encKeys(from: string, to: string, count: number): Promise<Key[]> {
    const keys: Key[] = [];
    while (keys.length < count) {
      const number = Math.min(options.maxKeysPerRequest, count - keys.length);
      const response = await send(`${kmeOf(from)}/api/v1/keys/${to}/enc_keys`, {
        method: 'POST',
        headers: { 'X-SAE-ID': from, 'Content-Type': 'application/json' },
        body: JSON.stringify({ number, size: keyBytes * 8 }),
      });
      if (response.status !== 200) throw new OtpClientError(`enc_keys answered ${response.status}: ${await response.text()}`);
      const body = (await response.json()) as { keys: Array<{ key_ID: string; key: string }> };
      keys.push(...body.keys.map((key) => ({ id: key.key_ID, bytes: new Uint8Array(Buffer.from(key.key, 'base64')) })));
    }
    return keys;
  }

  async function decKeys(reader: string, from: string, ids: readonly string[]): Promise<Key[]> {
    const response = await send(`${kmeOf(reader)}/api/v1/keys/${from}/dec_keys`, {
      method: 'POST',
      headers: { 'X-SAE-ID': reader, 'Content-Type': 'application/json' },
      body: JSON.stringify({ key_IDs: ids.map((id) => ({ key_ID: id })) }),
    });
    if (response.status !== 200) throw new OtpClientError(`dec_keys answered ${response.status}: ${await response.text()}`);
    const body = (await response.json()) as { keys: Array<{ key_ID: string; key: string }> };
    const byId = new Map(body.keys.map((key) => [key.key_ID, new Uint8Array(Buffer.from(key.key, 'base64'))]));
    return ids.map((id) => {
      const bytes = byId.get(id);
      if (bytes === undefined) throw new OtpClientError(`dec_keys left out key ${id}`);
      return { id, bytes };
    });
  }

  /** Bytes of the message one key pads: its own length, or twice that under the stretch bug. */
  const span = bug === 'stretch' ? 2 * keyBytes : keyBytes;

  function xorWith(data: Uint8Array, keys: readonly Key[]): Uint8Array {
    const out = new Uint8Array(data.length);
    for (let i = 0; i < data.length; i++) out[i] = (data[i] as number) ^ ((keys[Math.floor(i / span)]?.bytes[i % keyBytes] ?? 0) as number);
    return out;
  }

  return {
    async seal(id: string, from: string, to: string, message: Uint8Array): Promise<Envelope> {
      const count = Math.ceil(message.length / span);
      let keys: Key[];
      if (bug === 'reuse' && lastKeys.length >= count && count > 0) keys = lastKeys.slice(0, count);
      else keys = await encKeys(from, to, count);
      lastKeys = keys;
      // The no-consume bug fetches one key more than it needs, "for next time", and forgets it.
      if (bug === 'no-consume') await encKeys(from, to, 1);
      if (bug === 'skip-dec') for (const key of keys) leaked.set(key.id, key.bytes);
      options.onSeal?.(id, from, keys.map((key) => key.id));
      return { id, from, keyIds: keys.map((key) => key.id), ciphertext: xorWith(message, keys) };
    },
    async open(envelope: Envelope, reader: string): Promise<Uint8Array> {
      let keys: Key[];
      if (bug === 'skip-dec' && envelope.keyIds.every((id) => leaked.has(id))) keys = envelope.keyIds.map((id) => ({ id, bytes: leaked.get(id) as Uint8Array }));
      else keys = envelope.keyIds.length === 0 ? [] : await decKeys(reader, envelope.from, envelope.keyIds);
      if (bug === 'reverse') keys = [...keys].reverse();
      options.onOpen?.(envelope.id, reader, keys.map((key) => key.id));
      return xorWith(envelope.ciphertext, keys);
    },
  };
}
