// redactKeys on whole, cut and non-JSON bodies: every "key" string value goes, with its length in bits and
// the caller's hash; key_ID, key_size and values that are not strings stay.
import { expect, it } from 'vitest';
import { redactKeys } from '../../../src/check/redact.js';

const MATERIAL_A = Buffer.from('0123456789abcdef0123456789abcdef', 'hex').toString('base64');
const MATERIAL_B = Buffer.from('fedcba9876543210', 'hex').toString('base64');
const hashOf = (value: string): string => `h${value.length}`;

it('redacts every key in a pretty-printed answer and keeps key_ID', () => {
  const body = JSON.stringify({ keys: [{ key_ID: 'id-1', key: MATERIAL_A }, { key_ID: 'id-2', key: MATERIAL_B }] }, null, 2);
  const shown = redactKeys(body, hashOf);
  expect(shown).not.toContain(MATERIAL_A);
  expect(shown).not.toContain(MATERIAL_B);
  expect(shown).toContain('"key": "<redacted 128 bits #h24>"');
  expect(shown).toContain('"key": "<redacted 64 bits #h12>"');
  expect(shown).toContain('"key_ID": "id-1"');
  expect(JSON.parse(shown)).toEqual({ keys: [{ key_ID: 'id-1', key: '<redacted 128 bits #h24>' }, { key_ID: 'id-2', key: '<redacted 64 bits #h12>' }] });
});

it('accepts any JSON whitespace around the colon and keeps it', () => {
  const shown = redactKeys(`{"key" \t:\r\n  "${MATERIAL_B}"}`, hashOf);
  expect(shown).toBe('{"key" \t:\r\n  "<redacted 64 bits #h12>"}');
});

it('passes the decoded value to the hash and leaves key_size, key_ID and non-string keys alone', () => {
  const seen: string[] = [];
  const text = `{"key_size":256,"key_ID":"k","key":null,"other":{"key":7},"x":{"key":"ab\\/cd"}}`;
  const shown = redactKeys(text, (value) => {
    seen.push(value);
    return 'h';
  });
  expect(seen).toEqual(['ab/cd']);
  expect(shown).toBe(`{"key_size":256,"key_ID":"k","key":null,"other":{"key":7},"x":{"key":"<redacted 24 bits #h>"}}`);
});

it('takes an escaped quote as part of the value, not its end', () => {
  const shown = redactKeys(`{"key":"AAAA\\"BBBB","next":1}`, hashOf);
  expect(shown).toBe(`{"key":"<redacted 48 bits #h9>","next":1}`);
});

it('redacts a value the text cut off before its closing quote', () => {
  const body = `{"keys":[{"key_ID":"id-1","key":"${MATERIAL_A}"},{"key_ID":"id-2","key":"${MATERIAL_B}`;
  const cut = body.slice(0, body.length - 3);
  const shown = redactKeys(cut, hashOf);
  expect(shown).toBe(`{"keys":[{"key_ID":"id-1","key":"<redacted 128 bits #h24>"},{"key_ID":"id-2","key":"<redacted, cut>"`);
  expect(redactKeys(`{"key":"ABCD\\`, hashOf)).toBe('{"key":"<redacted, cut>"');
});

it('finds keys in text that is not JSON at all', () => {
  const html = `<html><body><pre>error: {"key": "${MATERIAL_A}"} and {"key":"${MATERIAL_B}"}</pre></body></html>`;
  const shown = redactKeys(html, hashOf);
  expect(shown).toBe('<html><body><pre>error: {"key": "<redacted 128 bits #h24>"} and {"key":"<redacted 64 bits #h12>"}</pre></body></html>');
});

it('does not take an escaped "key" inside another string for a member', () => {
  const text = `{"message":"use \\"key\\": \\"x\\" next time","keyring":"abc","monkey":"def"}`;
  expect(redactKeys(text, hashOf)).toBe(text);
});

it('leaves text without keys unchanged', () => {
  for (const text of ['', '{"message":"no keys"}', '{"keys":[]}', 'Internal Server Error']) expect(redactKeys(text, hashOf)).toBe(text);
});
