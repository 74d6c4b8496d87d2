// Key material out of answer bodies before anyone sees them. Works on any text, not only valid JSON: a body
// cut at a few hundred characters, an HTML page that quotes JSON, a body with escaped quotes in a value.

// The member name "key" (not inside another string: no backslash before its quote), any JSON whitespace
// around the colon, then a string value up to its closing quote, or up to the end of a cut text.
const KEY_MEMBER = /(?<!\\)"key"([ \t\r\n]*):([ \t\r\n]*)"((?:[^"\\]|\\[\s\S])*)(\\?)("|$)/g;

/**
 * Replaces the value of every `"key"` member that is a string by `"<redacted N bits #H>"`: N is the length of
 * the decoded (base64) material in bits and H is `hashOf` of the value, so that two answers carrying the
 * same material can still be told apart from two that do not. A value the text cut off before its closing
 * quote becomes `"<redacted, cut>"`: neither its length nor a hash of part of it would mean anything.
 * `key_ID`, `key_size` and every other member are left as they are.
 */
export function redactKeys(text: string, hashOf: (materialBase64: string) => string): string {
  return text.replace(KEY_MEMBER, (_match, before: string, after: string, raw: string, _danglingEscape: string, close: string) => {
    const head = `"key"${before}:${after}`;
    if (close !== '"') return `${head}"<redacted, cut>"`;
    const value = decodeJsonString(raw);
    const bits = Buffer.from(value, 'base64').length * 8;
    return `${head}"<redacted ${bits} bits #${hashOf(value)}>"`;
  });
}

/** The string a JSON string literal's inside stands for; the raw text when it is not valid JSON. */
function decodeJsonString(raw: string): string {
  if (!raw.includes('\\')) return raw;
  try {
    const decoded: unknown = JSON.parse(`"${raw}"`);
    return typeof decoded === 'string' ? decoded : raw;
  } catch {
    return raw;
  }
}
