// A transcript entry as the curl command that repeats it, quoted for a POSIX shell.
import type { TranscriptEntry } from './checkSession.js';
import type { TranscriptLine } from './checkReport.js';

export function quoteShell(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

export function renderCurl(entry: TranscriptEntry): string {
  const { request } = entry;
  const parts = ['curl', '-sS'];
  if (request.method !== 'GET') parts.push('-X', request.method);
  const sae = request.sae;
  if (sae?.header !== undefined) parts.push('-H', quoteShell(`${sae.header}: ${sae.value ?? sae.id}`));
  if (sae?.cert !== undefined) parts.push('--cert', quoteShell(sae.cert), '--key', quoteShell(sae.key ?? ''));
  if (sae?.ca !== undefined) parts.push('--cacert', quoteShell(sae.ca));
  if (sae?.insecure === true && sae.cert !== undefined) parts.push('--insecure');
  if (request.body !== undefined) {
    const raw = typeof request.body === 'string' ? request.body : request.body.raw;
    const type = typeof request.body === 'string' ? 'application/json' : request.body.contentType;
    parts.push('-H', quoteShell(`Content-Type: ${type}`), '--data-raw', quoteShell(raw));
  }
  parts.push(quoteShell(new URL(request.path, request.kmeUrl).toString()));
  return parts.join(' ');
}

export function toTranscriptLine(entry: TranscriptEntry): TranscriptLine {
  const { response } = entry;
  return {
    id: entry.id,
    curl: renderCurl(entry),
    status: response.status,
    ...(response.failure === undefined ? {} : { failure: `${response.failure}: ${response.failureDetail ?? ''}` }),
    response: response.text.length > 400 ? `${response.text.slice(0, 397)}...` : response.text,
  };
}
