// Every error answer of the HTTP layer, from two tables: domain errors (a KmeError, answered through the
// model's table, toEtsiError) and the transport's own refusals, below: a request that never reached the
// core (not JSON, wrong media type, too large, wrong method, no route, no identity, refused by Node's own
// parser) or that the core could not answer (restarting, an injected failure, a storage failure, a bug).
// The Express app, the ETSI fast path and the server's protocol-level answers all take their status,
// message and headers from here, and every answer carries the ETSI Error body.
import { toEtsiError, type KmeError } from '../model/kmeError.js';
import type { Profile } from '../model/profiles.js';
import type { ErrorBody } from '../model/wireSchema.js';
import type { AuthMode } from './identity.js';

export type TransportError =
  /** The body announced as JSON does not parse (strictly: an object or an array at the top). */
  | { readonly kind: 'notJson' }
  /** The body ended early, or its stream failed. */
  | { readonly kind: 'bodyUnreadable' }
  /** A body that is not `application/json`. */
  | { readonly kind: 'unsupportedMediaType' }
  /** A JSON body in a charset or content encoding the parser does not read. */
  | { readonly kind: 'unsupportedEncoding' }
  | { readonly kind: 'bodyTooLarge' }
  /** JSON nested deeper than a request ever needs (bodyDepth.ts): refused before anything reads it. */
  | { readonly kind: 'bodyTooDeep'; readonly max: number }
  /** Any other client error Express's parsing raised (an undecodable path parameter, for one). */
  | { readonly kind: 'refusedByParser'; readonly status: number }
  | { readonly kind: 'methodNotAllowed'; readonly allow: readonly string[] }
  | { readonly kind: 'unknownRoute'; readonly method: string; readonly path: string }
  /** An ETSI request without the caller's identity (no header, or no valid client certificate). */
  | { readonly kind: 'noIdentity'; readonly auth: AuthMode }
  | { readonly kind: 'adminTokenRequired' }
  /** The KME is down for a restart the admin API injected. */
  | { readonly kind: 'kmeRestarting' }
  | { readonly kind: 'injectedFailure'; readonly status: number }
  /** The journal could not be written. */
  | { readonly kind: 'storageFailure' }
  /** The server's own bug. */
  | { readonly kind: 'internal' }
  /** From Node's HTTP parser, before any route: a request line or header it cannot read. */
  | { readonly kind: 'malformedRequest' }
  | { readonly kind: 'headersTooLarge' }
  | { readonly kind: 'chunkExtensionsTooLarge' }
  | { readonly kind: 'requestTimeout' }
  | { readonly kind: 'unsupportedExpect' }
  /** An HTTP/1.1 request without a Host header (RFC 9112 §3.2). */
  | { readonly kind: 'missingHost' }
  /** A CONNECT request: this server is no proxy, and its target (host:port) is none of its resources. */
  | { readonly kind: 'connectNotSupported' };

export type TransportErrorKind = TransportError['kind'];

type ErrorOf<K extends TransportErrorKind> = Extract<TransportError, { readonly kind: K }>;

interface Row<K extends TransportErrorKind> {
  readonly status: number | ((error: ErrorOf<K>) => number);
  readonly message: string | ((error: ErrorOf<K>) => string);
  readonly headers?: (error: ErrorOf<K>) => Readonly<Record<string, string>>;
}

export const TRANSPORT_ERRORS: { readonly [K in TransportErrorKind]: Row<K> } = {
  notJson: { status: 400, message: 'request body is not valid JSON' },
  bodyUnreadable: { status: 400, message: 'request body could not be read' },
  unsupportedMediaType: { status: 415, message: 'request bodies must be application/json' },
  unsupportedEncoding: { status: 415, message: 'unsupported body encoding' },
  bodyTooLarge: { status: 413, message: 'request body too large' },
  bodyTooDeep: { status: 400, message: (error) => `request body is nested deeper than ${error.max} levels` },
  refusedByParser: { status: (error) => error.status, message: 'bad request' },
  methodNotAllowed: {
    status: 405,
    message: (error) => `method not allowed (allowed: ${error.allow.join(', ')})`,
    headers: (error) => ({ Allow: error.allow.join(', ') }),
  },
  unknownRoute: { status: 404, message: (error) => `no route ${error.method} ${error.path}` },
  noIdentity: { status: 401, message: (error) => (error.auth.kind === 'header' ? `missing ${error.auth.header} header` : 'no valid client certificate') },
  adminTokenRequired: { status: 401, message: 'the admin API needs its token', headers: () => ({ 'WWW-Authenticate': 'Bearer' }) },
  kmeRestarting: { status: 503, message: 'KME is restarting' },
  injectedFailure: { status: (error) => error.status, message: (error) => (error.status === 503 ? 'injected failure' : 'injected error') },
  storageFailure: { status: 503, message: 'storage failure' },
  internal: { status: 500, message: 'internal error' },
  malformedRequest: { status: 400, message: 'malformed HTTP request' },
  headersTooLarge: { status: 431, message: 'request line and headers are too large' },
  chunkExtensionsTooLarge: { status: 413, message: 'chunk extensions are too large' },
  requestTimeout: { status: 408, message: 'request timed out' },
  unsupportedExpect: { status: 417, message: 'unsupported Expect header (only 100-continue is supported)' },
  missingHost: { status: 400, message: 'an HTTP/1.1 request must carry a Host header' },
  // The target of a CONNECT allows no method at all: an empty Allow says so (RFC 9110 §10.2.1).
  connectNotSupported: { status: 405, message: 'CONNECT is not supported: this server is not a proxy', headers: () => ({ Allow: '' }) },
};

// errorAnswer tells the two kinds of error apart by their kind's name, so no name may be in both tables.
type Assert<T extends true> = T;
export type KindsAreDistinct = Assert<[Extract<KmeError['kind'], TransportErrorKind>] extends [never] ? true : false>;

export interface ErrorAnswer {
  readonly status: number;
  readonly body: ErrorBody;
  /** Headers the answer needs besides its content type and length (Allow, WWW-Authenticate). */
  readonly headers: Readonly<Record<string, string>>;
}

const NO_HEADERS: Readonly<Record<string, string>> = {};

export function isTransportError(error: KmeError | TransportError): error is TransportError {
  return Object.hasOwn(TRANSPORT_ERRORS, error.kind);
}

export function transportAnswer(error: TransportError): ErrorAnswer {
  // Each row is called with an error of its own kind only.
  const row = TRANSPORT_ERRORS[error.kind] as Row<TransportErrorKind>;
  const status = typeof row.status === 'number' ? row.status : row.status(error);
  const message = typeof row.message === 'string' ? row.message : row.message(error);
  return { status, body: { message }, headers: row.headers === undefined ? NO_HEADERS : row.headers(error) };
}

/** The answer to any error: a domain error by the model's table (which the profile tunes), any other by this one. */
export function errorAnswer(error: KmeError | TransportError, profile: Profile): ErrorAnswer {
  if (isTransportError(error)) return transportAnswer(error);
  return { ...toEtsiError(error, profile), headers: NO_HEADERS };
}

// Node's parser errors by code, with the statuses Node itself would send; any other code is a malformed request.
const PARSER_CODES: Readonly<Record<string, TransportError>> = {
  HPE_HEADER_OVERFLOW: { kind: 'headersTooLarge' },
  HPE_CHUNK_EXTENSIONS_OVERFLOW: { kind: 'chunkExtensionsTooLarge' },
  ERR_HTTP_REQUEST_TIMEOUT: { kind: 'requestTimeout' },
};

/** What a `clientError` of Node's HTTP server with this code is. */
export function parserError(code: string | undefined): TransportError {
  return (code === undefined ? undefined : PARSER_CODES[code]) ?? { kind: 'malformedRequest' };
}

/** What an error raised while Express read a request is, or null when it is not the client's (our bug). */
export function requestReadError(error: unknown): TransportError | null {
  const { type, status } = (typeof error === 'object' && error !== null ? error : {}) as { readonly type?: unknown; readonly status?: unknown };
  switch (type) {
    case 'entity.parse.failed':
      return { kind: 'notJson' };
    case 'entity.too.large':
      return { kind: 'bodyTooLarge' };
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return { kind: 'unsupportedEncoding' };
    case 'request.aborted':
    case 'request.size.invalid':
    case 'stream.encoding.set':
      return { kind: 'bodyUnreadable' };
    default:
      // Not the body parser's, or a kind not named above: judged by its status.
      return typeof status === 'number' && status >= 400 && status < 500 ? { kind: 'refusedByParser', status } : null;
  }
}
