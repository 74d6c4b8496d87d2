// Escaping for XML and HTML text and attributes. Every string that reaches junit.xml or index.html passes
// through here, because scenario names, labels and evidence come from user files and from systems under test.

// XML 1.0 forbids most C0 controls, lone surrogates and U+FFFE/U+FFFF even as character references:
// drop them rather than emit a file that no parser accepts.
const FORBIDDEN_XML_CHARS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

const ENTITIES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
  // Parsers normalise raw whitespace inside attribute values to spaces; references keep it.
  '\n': '&#10;',
  '\r': '&#13;',
  '\t': '&#9;',
};

export function escapeXmlText(text: string): string {
  return text.replace(FORBIDDEN_XML_CHARS, '').replace(/[&<>"']/g, (char) => ENTITIES[char] ?? char);
}

export function escapeXmlAttribute(text: string): string {
  return text.replace(FORBIDDEN_XML_CHARS, '').replace(/[&<>"'\n\r\t]/g, (char) => ENTITIES[char] ?? char);
}

/** Attributes for an XML start tag, every value escaped: `name="value" other="1"`. */
export function formatAttributes(attributes: Readonly<Record<string, string | number>>): string {
  return Object.entries(attributes)
    .map(([name, value]) => `${name}="${escapeXmlAttribute(String(value))}"`)
    .join(' ');
}

/** Milliseconds as the seconds JUnit's `time` attribute wants, never negative. */
export function formatSeconds(ms: number): string {
  return (Math.max(0, ms) / 1000).toFixed(3);
}
