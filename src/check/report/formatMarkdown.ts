// Markdown that user and target text cannot break: escaped prose, code spans and fenced blocks whose fences
// outgrow any backticks inside. The same rules as src/sim/report/renderMarkdown.ts, which keeps them private.

// Backslash-escaping ASCII punctuation is always literal in CommonMark, so text cannot open a link,
// emphasis, raw HTML or a table cell; newlines would end a list item or a row. At the start of a
// paragraph "-", "=" or "1." would open a list or underline a heading, so they are escaped there too.
export function escapeMarkdown(text: string): string {
  return text
    .replace(/\r?\n|\r/g, ' ')
    .trim()
    .replace(/[\\`*_{}[\]()<>#+!|~&]/g, '\\$&')
    .replace(/^(\d+)\./, '$1\\.')
    .replace(/^[-=]/, '\\$&');
}

// Inside a table a pipe ends the cell even in a code span, so tables pass tableCell: true.
export function formatInlineCode(text: string, options: { readonly tableCell?: boolean } = {}): string {
  const flat = text.replace(/\r?\n|\r/g, ' ');
  const fence = '`'.repeat(findLongestBacktickRun(flat) + 1);
  const pad = flat.startsWith('`') || flat.endsWith('`') ? ' ' : '';
  const span = `${fence}${pad}${flat}${pad}${fence}`;
  return options.tableCell === true ? span.replace(/\|/g, '\\|') : span;
}

/** A fenced block, every line indented by `indent` so that it can sit inside a list item. */
export function formatCodeBlock(text: string, language: string, indent = ''): string[] {
  const fence = '`'.repeat(Math.max(3, findLongestBacktickRun(text) + 1));
  return [`${fence}${language}`, ...text.split(/\r?\n|\r/), fence].map((line) => `${indent}${line}`);
}

function findLongestBacktickRun(text: string): number {
  let longest = 0;
  for (const run of text.match(/`+/g) ?? []) longest = Math.max(longest, run.length);
  return longest;
}
