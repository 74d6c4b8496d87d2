// JSON on one line for evidence in reports (Markdown, JUnit, HTML), shared by the simulator's and the
// checker's reports.

/** Evidence on one line, keys in the order the checker wrote them; bigints print as their digits. */
export function formatCompactJson(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) => (typeof inner === 'bigint' ? inner.toString() : inner)) ?? 'undefined';
}
