// Transcript entries as shell commands anyone can paste into sh or bash. Each answer is caught in a
// variable R<id> and printed with its key material replaced by <redacted> and its HTTP status on the last
// line, so a pasted transcript never puts key bytes on a terminal. Key IDs that later requests use are
// taken from the earlier answer into K<id>_<i>, so the commands also work against a KME that hands out
// other (random) key IDs. Requests that were sent at once run as background jobs and one `wait`.
import type { TranscriptEntry } from './checkSession.js';
import type { TranscriptLine } from './checkReport.js';

/** Answers are cut to this many characters in a transcript line. */
const RESPONSE_CHARS_MAX = 400;

// sed reads the whole answer first (the labels loop), so that a "key" member split over lines is still
// found; a value ends at its closing quote, or at a control character when the body was cut.
const REDACT_SED = `sed -E -e ':a' -e '$!N' -e '$!ba' -e 's/("key"[[:space:]]*:[[:space:]]*")([^"\\\\[:cntrl:]]|\\\\[^[:cntrl:]])*/\\1<redacted>/g'`;

export function quoteShell(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** Quotes text for the shell, with the key IDs a transcript captured earlier replaced by their variables. */
function quoteWith(text: string, variables: ReadonlyMap<string, string>): string {
  if (variables.size === 0) return quoteShell(text);
  const ids = [...variables.keys()].map((id) => id.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  const parts = text.split(new RegExp(`(${ids.join('|')})`));
  return parts.map((part, i) => (i % 2 === 1 ? `"$${variables.get(part)}"` : part === '' ? '' : quoteShell(part))).join('') || "''";
}

/** The curl command alone: it writes the answer's body, a newline and the HTTP status (000 when none came). */
export function renderCurl(entry: TranscriptEntry, variables: ReadonlyMap<string, string> = new Map()): string {
  const quote = (text: string): string => quoteWith(text, variables);
  const { request } = entry;
  const parts = ['curl', '-sS', '-w', quoteShell('\\n%{http_code}')];
  // A request that hung when the check sent it would hang the pasted script too.
  if (entry.response.failure === 'timeout') parts.push('--max-time', String(Math.max(1, Math.ceil(request.timeoutMs / 1000))));
  if (request.method !== 'GET') parts.push('-X', request.method);
  const sae = request.sae;
  if (sae?.header !== undefined) parts.push('-H', quote(`${sae.header}: ${sae.value ?? sae.id}`));
  if (sae?.cert !== undefined) parts.push('--cert', quote(sae.cert), '--key', quote(sae.key ?? ''));
  if (sae?.ca !== undefined) parts.push('--cacert', quote(sae.ca));
  if (sae?.insecure === true && sae.cert !== undefined) parts.push('--insecure');
  if (request.body !== undefined) {
    const raw = typeof request.body === 'string' ? request.body : request.body.raw;
    const type = typeof request.body === 'string' ? 'application/json' : request.body.contentType;
    parts.push('-H', quote(`Content-Type: ${type}`), '--data-raw', quote(raw));
  }
  parts.push(quote(new URL(request.path, request.kmeUrl).toString()));
  return parts.join(' ');
}

/** Prints a captured answer with its key material redacted; the status is the last line. */
function printRedacted(id: number): string {
  return `printf '%s\\n' "$R${id}" | ${REDACT_SED}`;
}

/** One request on its own: run, catch, print redacted. */
function renderCaptured(entry: TranscriptEntry, variables: ReadonlyMap<string, string>): string {
  return `R${entry.id}=$(${renderCurl(entry, variables)}); ${printRedacted(entry.id)}`;
}

export function toTranscriptLine(entry: TranscriptEntry): TranscriptLine {
  return lineOf(entry, renderCaptured(entry, new Map()));
}

function lineOf(entry: TranscriptEntry, command: string): TranscriptLine {
  const { response } = entry;
  const shown = entry.shown;
  return {
    id: entry.id,
    curl: command,
    status: response.status,
    ...(response.failure === undefined ? {} : { failure: `${response.failure}: ${response.failureDetail ?? ''}` }),
    response: shown.length > RESPONSE_CHARS_MAX ? `${shown.slice(0, RESPONSE_CHARS_MAX - 3)}...` : shown,
    ...(entry.burst === undefined ? {} : { burst: entry.burst }),
  };
}

/** Consecutive entries with the same burst number, in order; an entry outside any burst is a group alone. */
function groupBursts(entries: readonly TranscriptEntry[]): TranscriptEntry[][] {
  const groups: TranscriptEntry[][] = [];
  for (const entry of entries) {
    const last = groups[groups.length - 1];
    const previous = last?.[last.length - 1];
    if (last !== undefined && entry.burst !== undefined && previous?.burst === entry.burst) last.push(entry);
    else groups.push([entry]);
  }
  return groups;
}

function textOf(entry: TranscriptEntry): string {
  const body = typeof entry.request.body === 'string' ? entry.request.body : (entry.request.body?.raw ?? '');
  return `${entry.request.path} ${body}`;
}

/**
 * The lines that take, from an answer caught in R<id>, the key IDs later requests use, and remember their
 * variables so that those requests refer to them.
 */
function captureKeyIds(entry: TranscriptEntry, later: string, variables: Map<string, string>): string[] {
  const keys = (entry.response.json as { keys?: Array<{ key_ID?: unknown }> } | undefined)?.keys;
  if (entry.response.status !== 200 || !Array.isArray(keys)) return [];
  const lines: string[] = [];
  keys.forEach((key, i) => {
    const id = typeof key?.key_ID === 'string' ? key.key_ID : '';
    if (id === '' || variables.has(id) || !later.includes(id)) return;
    const name = `K${entry.id}_${i}`;
    lines.push(`${name}=$(printf '%s' "$R${entry.id}" | grep -o '"key_ID" *: *"[^"]*"' | sed -n ${i + 1}p | cut -d'"' -f4)`);
    variables.set(id, name);
  });
  return lines;
}

/**
 * A transcript anyone can paste, one line per entry. A burst (consecutive entries with the same burst
 * number) starts in a fresh temporary folder; each of its requests runs in the background writing its
 * answer there, and the burst's last line waits for all of them, then catches and prints each answer.
 */
export function renderTranscript(entries: readonly TranscriptEntry[]): TranscriptLine[] {
  const variables = new Map<string, string>();
  const laterText = (index: number): string => entries.slice(index).map(textOf).join(' ');
  const lines: TranscriptLine[] = [];
  let next = 0;
  for (const group of groupBursts(entries)) {
    next += group.length;
    const later = laterText(next);
    if (group.length === 1) {
      const entry = group[0] as TranscriptEntry;
      const command = [renderCaptured(entry, variables), ...captureKeyIds(entry, later, variables)].join('\n');
      lines.push(lineOf(entry, command));
      continue;
    }
    // Every request of the burst is written before any of its answers is read: a burst cannot use its own.
    const commands = group.map((entry, i) => `${i === 0 ? 'T=$(mktemp -d); ' : ''}${renderCurl(entry, variables)} > "$T/${entry.id}" &`);
    const after = ['wait'];
    for (const entry of group) after.push(`R${entry.id}=$(cat "$T/${entry.id}"); ${printRedacted(entry.id)}`);
    after.push('rm -r "$T"');
    for (const entry of group) after.push(...captureKeyIds(entry, later, variables));
    group.forEach((entry, i) => {
      lines.push(lineOf(entry, i === group.length - 1 ? [commands[i] as string, ...after].join('\n') : (commands[i] as string)));
    });
  }
  return lines;
}

/** The lines as one script for sh or bash, in order, ending in a newline. */
export function transcriptScript(lines: readonly TranscriptLine[]): string {
  return lines.length === 0 ? '' : `${lines.map((line) => line.curl).join('\n')}\n`;
}
