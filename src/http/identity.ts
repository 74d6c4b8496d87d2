// Who is calling. ETSI 014 takes the SAE ID from the client certificate (mTLS); for CI convenience a header
// mode reads it from a configured header. Never from the body or the path (C2).
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';

export type AuthMode = { readonly kind: 'header'; readonly header: string } | { readonly kind: 'mtls' };

/** A request header as Express's `req.get` reads it (Referer and Referrer are one header). */
function headerOf(req: IncomingMessage, name: string): string | string[] | undefined {
  const lower = name.toLowerCase();
  if (lower === 'referer' || lower === 'referrer') return req.headers['referrer'] || req.headers['referer'];
  return req.headers[lower];
}

export function identifyCaller(req: IncomingMessage, auth: AuthMode): string | null {
  if (auth.kind === 'header') {
    const value = headerOf(req, auth.header);
    return value === undefined || value.length === 0 ? null : (value as string);
  }
  const socket = req.socket as TLSSocket;
  if (typeof socket.getPeerCertificate !== 'function') return null;
  return certificateCaller(socket);
}

// The caller a TLS connection's certificate names, read once per connection (reading the peer certificate
// copies and fingerprints it) and again after any later handshake, which may bring another certificate.
const callers = new WeakMap<TLSSocket, string | null>();
const watched = new WeakSet<TLSSocket>();

function certificateCaller(socket: TLSSocket): string | null {
  const known = callers.get(socket);
  if (known !== undefined) return known;
  if (!watched.has(socket)) {
    watched.add(socket);
    socket.on('secure', () => callers.delete(socket));
  }
  let caller: string | null = null;
  if (socket.authorized) {
    const subject = socket.getPeerCertificate().subject as { CN?: string | string[] } | undefined;
    const cn = subject?.CN;
    caller = typeof cn === 'string' && cn.length > 0 ? cn : null;
  }
  callers.set(socket, caller);
  return caller;
}

export function isLoopback(address: string | undefined): boolean {
  if (address === undefined) return false;
  return address === '::1' || address === 'localhost' || address.startsWith('127.') || address.startsWith('::ffff:127.');
}
