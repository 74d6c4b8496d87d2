// The spec's request forms, as path (and body) in the spec's own form (/api/v1/keys/…); the session sends
// them under each KME's URL prefix and keys path.
import type { EtsiRequest } from './etsiClient.js';

type PathAndBody = Pick<EtsiRequest, 'method' | 'path' | 'body'>;

export function statusPath(slave: string): PathAndBody {
  return { method: 'GET', path: `/api/v1/keys/${encodeURIComponent(slave)}/status` };
}

export function encPath(slave: string, request: { readonly number?: number; readonly size?: number; readonly additional?: readonly string[] }, method: 'GET' | 'POST'): PathAndBody {
  const base = `/api/v1/keys/${encodeURIComponent(slave)}/enc_keys`;
  if (method === 'GET') {
    const query = new URLSearchParams();
    if (request.number !== undefined) query.set('number', String(request.number));
    if (request.size !== undefined) query.set('size', String(request.size));
    const qs = query.toString();
    return { method, path: qs === '' ? base : `${base}?${qs}` };
  }
  const body = {
    ...(request.number === undefined ? {} : { number: request.number }),
    ...(request.size === undefined ? {} : { size: request.size }),
    ...(request.additional === undefined || request.additional.length === 0 ? {} : { additional_slave_SAE_IDs: request.additional }),
  };
  return { method, path: base, body: JSON.stringify(body) };
}

export function decPath(master: string, keyIds: readonly string[], method: 'GET' | 'POST'): PathAndBody {
  const base = `/api/v1/keys/${encodeURIComponent(master)}/dec_keys`;
  if (method === 'GET' && keyIds.length === 1) return { method: 'GET', path: `${base}?key_ID=${encodeURIComponent(keyIds[0] as string)}` };
  return { method: 'POST', path: base, body: JSON.stringify({ key_IDs: keyIds.map((id) => ({ key_ID: id })) }) };
}
