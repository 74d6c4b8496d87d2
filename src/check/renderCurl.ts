// A transcript entry as the curl command that repeats it, quoted for a POSIX shell.
import type { TranscriptEntry } from './checkSession.js';
import type { TranscriptLine } from './checkReport.js';

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

export function renderCurl(entry: TranscriptEntry, variables: ReadonlyMap<string, string> = new Map()): string {
  const quote = (text: string): string => quoteWith(text, variables);
  const { request } = entry;
  const parts = ['curl', '-sS'];
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

export function toTranscriptLine(entry: TranscriptEntry): TranscriptLine {
  return lineOf(entry, renderCurl(entry));
}

function lineOf(entry: TranscriptEntry, command: string): TranscriptLine {
  const { response } = entry;
  return {
    id: entry.id,
    curl: command,
    status: response.status,
    ...(response.failure === undefined ? {} : { failure: `${response.failure}: ${response.failureDetail ?? ''}` }),
    response: response.text.length > 400 ? `${response.text.slice(0, 397)}...` : response.text,
  };
}

/**
 * A transcript anyone can paste: each enc_keys answer whose key IDs later requests use is kept in a shell
 * variable, and those requests refer to the variable, so the sequence also replays on a KME that hands
 * out other (random) key IDs.
 */
export function renderTranscript(entries: readonly TranscriptEntry[]): TranscriptLine[] {
  const variables = new Map<string, string>();
  const laterText = (index: number): string =>
    entries
      .slice(index + 1)
      .map((entry) => `${entry.request.path} ${typeof entry.request.body === 'string' ? entry.request.body : (entry.request.body?.raw ?? '')}`)
      .join(' ');
  return entries.map((entry, index) => {
    let command = renderCurl(entry, variables);
    const keys = (entry.response.json as { keys?: Array<{ key_ID?: unknown }> } | undefined)?.keys;
    if (entry.response.status === 200 && Array.isArray(keys)) {
      const later = laterText(index);
      const captured = keys
        .map((key, i) => ({ id: typeof key.key_ID === 'string' ? key.key_ID : '', i }))
        .filter(({ id }) => id !== '' && later.includes(id) && !variables.has(id));
      if (captured.length > 0) {
        const answer = `R${entry.id}`;
        const lines = [`${answer}=$(${command}) && printf '%s\\n' "$${answer}"`];
        for (const { id, i } of captured) {
          const name = `K${entry.id}_${i}`;
          lines.push(`${name}=$(printf '%s' "$${answer}" | grep -o '"key_ID" *: *"[^"]*"' | sed -n ${i + 1}p | cut -d'"' -f4)`);
          variables.set(id, name);
        }
        command = lines.join('\n');
      }
    }
    return lineOf(entry, command);
  });
}
