// The client-side judge of kmesim/testing on hand-made traffic: each rule U1…U7 found where it is broken,
// with the requests that show it, and nothing where the client kept every rule.
import { beforeEach, describe, expect, it } from 'vitest';
import { createClientLedger } from '../../../src/testing/clientLedger.js';
import type { RecordedExchange } from '../../../src/testing/etsiRecorder.js';

let seq = 0;
beforeEach(() => {
  seq = 0;
});

function exchange(route: 'enc_keys' | 'dec_keys', caller: string, peer: string, keyIds: string[], status = 200): RecordedExchange {
  seq += 1;
  return { seq, method: 'POST', kme: 'http://127.0.0.1:1', path: `/api/v1/keys/${peer}/${route}`, route, caller, peer, body: null, status, keyIds, message: null };
}

it('finds nothing when the sender seals each message with fresh keys and the reader opens it with them, in order', () => {
  const ledger = createClientLedger();
  const traffic = [exchange('enc_keys', 'A', 'B', ['k1', 'k2']), exchange('dec_keys', 'B', 'A', ['k1', 'k2'])];
  ledger.sealed('m1', 'A', ['k1', 'k2']);
  ledger.opened('m1', 'B', ['k1', 'k2']);
  expect(ledger.judge(traffic)).toEqual([]);
});

it('names each rule broken, with its messages, keys and requests', () => {
  const ledger = createClientLedger();
  const traffic = [
    exchange('enc_keys', 'A', 'B', ['k1', 'k2', 'k3']), // #1
    exchange('dec_keys', 'B', 'A', ['k1', 'k2']), // #2
    exchange('enc_keys', 'A', 'B', ['k9']), // #3: fetched, never used
    exchange('dec_keys', 'B', 'A', ['k1'], 400), // #4: refused, retrieves nothing
  ];
  ledger.sealed('m1', 'A', ['k1', 'k2']);
  ledger.opened('m1', 'B', ['k2', 'k1']); // reversed: U2
  ledger.sealed('m2', 'A', ['k1', 'k3']); // k1 again: U1; k3 never retrieved: U6
  ledger.opened('m2', 'B', ['k1', 'k4']); // k4 is not the sender's: U3; k4 never retrieved: U4
  const found = ledger.judge(traffic);
  expect(found.map((finding) => finding.invariant).sort()).toEqual(['U1', 'U2', 'U3', 'U4', 'U5', 'U6']);
  expect(found.find((finding) => finding.invariant === 'U1')).toMatchObject({ messages: ['m1', 'm2'], keyIds: ['k1'], requests: [1, 2] });
  expect(found.find((finding) => finding.invariant === 'U2')).toMatchObject({ messages: ['m1'], keyIds: ['k2', 'k1'] });
  expect(found.find((finding) => finding.invariant === 'U3')).toMatchObject({ messages: ['m2'], keyIds: ['k4', 'k3'] });
  expect(found.find((finding) => finding.invariant === 'U4')).toMatchObject({ keyIds: ['k4'] });
  expect(found.find((finding) => finding.invariant === 'U5')).toMatchObject({ keyIds: ['k9'], requests: [3] });
  expect(found.find((finding) => finding.invariant === 'U6')).toMatchObject({ messages: ['m2'], keyIds: ['k3'] });
});

it('counts a dec_keys only for the reader who made it, naming the sender', () => {
  const ledger = createClientLedger();
  // Carol retrieved the keys; Bob opens with them.
  const traffic = [exchange('enc_keys', 'A', 'B', ['k1']), exchange('dec_keys', 'C', 'A', ['k1'])];
  ledger.sealed('m1', 'A', ['k1']);
  ledger.opened('m1', 'B', ['k1']);
  expect(ledger.judge(traffic).map((finding) => finding.invariant)).toEqual(['U4']);
  ledger.clear();
  expect(ledger.judge(traffic).map((finding) => finding.invariant)).toEqual(['U5']);
});

it('a key applied twice in place of another is other keys than the sender’s (U3), not another order', () => {
  const ledger = createClientLedger();
  const traffic = [exchange('enc_keys', 'A', 'B', ['k1', 'k2']), exchange('dec_keys', 'B', 'A', ['k1', 'k2'])];
  ledger.sealed('m1', 'A', ['k1', 'k2']);
  ledger.opened('m1', 'B', ['k1', 'k1']);
  expect(ledger.judge(traffic).map((finding) => finding.invariant)).toEqual(['U3']);
});

describe('the reference OTP (U7)', () => {
  const bytes: Record<string, Uint8Array> = { k1: Uint8Array.of(1, 2, 3, 4), k2: Uint8Array.of(5, 6, 7, 8) };
  const keyBytes = (id: string) => bytes[id];
  const xor = (data: number[], pad: number[]) => Uint8Array.from(data, (byte, i) => byte ^ (pad[i] as number));
  const plaintext = [10, 20, 30, 40, 50, 60];
  const traffic = () => [exchange('enc_keys', 'A', 'B', ['k1', 'k2']), exchange('dec_keys', 'B', 'A', ['k1', 'k2'])];

  function judged(pad: number[], cipherLength = plaintext.length) {
    const ledger = createClientLedger();
    ledger.sealed('m1', 'A', ['k1', 'k2']);
    ledger.opened('m1', 'B', ['k1', 'k2']);
    ledger.enveloped('m1', Uint8Array.from(plaintext), xor(plaintext, pad).slice(0, cipherLength));
    return ledger.judge(traffic(), keyBytes);
  }

  it('holds for plaintext XOR the keys laid end to end', () => {
    expect(judged([1, 2, 3, 4, 5, 6])).toEqual([]);
  });

  it('finds the first key used twice (each key stretched over two spans), naming the byte', () => {
    const found = judged([1, 2, 3, 4, 1, 2]);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ invariant: 'U7', messages: ['m1'], keyIds: ['k1', 'k2'], requests: [1, 2] });
    expect(found[0]?.message).toMatch(/byte 5 of 6 is padded with other key bytes/);
  });

  it('finds a key applied from the wrong offset, and the keys in another order', () => {
    expect(judged([2, 3, 4, 5, 6, 7]).map((finding) => finding.message)).toEqual([expect.stringMatching(/byte 1 of 6/)]);
    expect(judged([5, 6, 7, 8, 1, 2]).map((finding) => finding.invariant)).toEqual(['U7']);
  });

  it('finds a ciphertext cut short, and a message longer than its keys', () => {
    expect(judged([1, 2, 3, 4, 5, 6], 5)[0]?.message).toMatch(/ciphertext has 5 byte\(s\), the plaintext 6/);
    const ledger = createClientLedger();
    ledger.sealed('m1', 'A', ['k1']);
    ledger.enveloped('m1', Uint8Array.from(plaintext), xor(plaintext, [1, 2, 3, 4, 0, 0]));
    const found = ledger.judge([exchange('enc_keys', 'A', 'B', ['k1']), exchange('dec_keys', 'B', 'A', ['k1'])], keyBytes);
    expect(found.map((finding) => finding.message)).toEqual([expect.stringMatching(/6 byte\(s\), its keys only 4/)]);
  });

  it('is judged only with the key bytes, and never puts bytes in a finding', () => {
    const ledger = createClientLedger();
    ledger.sealed('m1', 'A', ['k1', 'k2']);
    ledger.enveloped('m1', Uint8Array.from(plaintext), xor(plaintext, [9, 9, 9, 9, 9, 9]));
    expect(ledger.judge(traffic())).toEqual([]);
    const found = ledger.judge(traffic(), keyBytes);
    expect(found.map((finding) => finding.invariant)).toEqual(['U7']);
    // Nothing in a finding is bytes, and no text in it spells a key's bytes in hex or base64.
    const spelled = Object.values(bytes).flatMap((key) => [Buffer.from(key).toString('hex'), Buffer.from(key).toString('base64').replace(/=+$/, '')]);
    const walk = (value: unknown): void => {
      expect(value instanceof Uint8Array).toBe(false);
      if (typeof value === 'string') for (const text of spelled) expect(value).not.toContain(text);
      else if (typeof value === 'object' && value !== null) for (const member of Object.values(value)) walk(member);
    };
    walk(found);
  });
});

it('names an opening of a message no sender reported (U3), and judges its keys by U4 all the same', () => {
  const ledger = createClientLedger();
  const traffic = [exchange('enc_keys', 'A', 'B', ['k1']), exchange('dec_keys', 'B', 'A', ['k1'])];
  ledger.sealed('m1', 'A', ['k1']);
  ledger.opened('env-m1', 'B', ['k1']); // the reader names the message otherwise
  ledger.opened('ghost', 'B', ['not-a-key']);
  const found = ledger.judge(traffic);
  expect(found.filter((finding) => finding.invariant === 'U3').map((finding) => finding.messages)).toEqual([['env-m1'], ['ghost']]);
  expect(found.filter((finding) => finding.invariant === 'U4')).toEqual([expect.objectContaining({ messages: ['ghost'], keyIds: ['not-a-key'] })]);
});

it('names an envelope handed over for a message no sender reported (U7), and a message sealed with no keys', () => {
  const ledger = createClientLedger();
  ledger.enveloped('typo', Uint8Array.of(1), Uint8Array.of(2));
  ledger.sealed('clear', 'A', []);
  ledger.enveloped('clear', Uint8Array.of(7, 7), Uint8Array.of(7, 7));
  const found = ledger.judge([], () => undefined);
  expect(found.map((finding) => [finding.invariant, finding.messages[0]])).toEqual([
    ['U7', 'typo'],
    ['U7', 'clear'],
  ]);
  expect(found[1]?.message).toMatch(/2 byte\(s\), its keys only 0/);
});

it('leaves U5 and U6 out of a run that stopped early, and judges the rest', () => {
  const ledger = createClientLedger();
  const traffic = [exchange('enc_keys', 'A', 'B', ['k1', 'k2']), exchange('enc_keys', 'A', 'B', ['k3'])];
  ledger.sealed('m1', 'A', ['k1', 'k2']);
  ledger.sealed('m2', 'A', ['k1']); // U1 all the same
  expect(ledger.judge(traffic).map((finding) => finding.invariant).sort()).toEqual(['U1', 'U5', 'U6', 'U6']);
  expect(ledger.judge(traffic, undefined, { finished: false }).map((finding) => finding.invariant)).toEqual(['U1']);
});
