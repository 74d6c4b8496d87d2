// Expected domain outcomes are values. Every KmeError kind maps, in this one table, to an ETSI status
// and Error body; the HTTP layer and the in-process client both use it.
import type { Profile } from './profiles.js';
import { SPEC_ERROR, type ErrorBody } from './wireSchema.js';

export type KmeErrorKind =
  | 'unauthorized'
  | 'unknownSlave'
  | 'badRequest'
  | 'sizeNotMultipleOf8'
  | 'sizeOutOfRange'
  | 'badNumber'
  | 'badAdditionalSlaves'
  | 'slaveIsCaller'
  | 'extensionUnsupported'
  | 'extensionUnmet'
  | 'badKeyIds'
  | 'keysNotFound'
  | 'insufficientKeys'
  | 'tooManyWaiting'
  | 'remoteUnavailable'
  | 'serviceUnavailable';

export interface KmeError {
  readonly kind: KmeErrorKind;
  readonly details?: ReadonlyArray<Readonly<Record<string, unknown>>>;
  /** Why, where the kind alone would leave a client guessing (a 401): added to the message after a colon. */
  readonly reason?: string;
}

const ERROR_TABLE: Readonly<Record<KmeErrorKind, { readonly status: 400 | 401 | 503; readonly message: string }>> = {
  unauthorized: { status: 401, message: 'unauthorized' },
  unknownSlave: { status: 400, message: 'slave SAE ID is not known to this KME' },
  badRequest: { status: 400, message: 'bad request format' },
  sizeNotMultipleOf8: { status: 400, message: SPEC_ERROR.sizeNotMultipleOf8 },
  sizeOutOfRange: { status: 400, message: 'size is outside [min_key_size, max_key_size]' },
  badNumber: { status: 400, message: 'number must be an integer from 1 to max_key_per_request' },
  badAdditionalSlaves: { status: 400, message: 'additional_slave_SAE_IDs is not acceptable' },
  slaveIsCaller: { status: 400, message: 'the slave SAE must be another SAE than the caller' },
  extensionUnsupported: { status: 400, message: SPEC_ERROR.extensionMandatoryUnsupported },
  extensionUnmet: { status: 400, message: SPEC_ERROR.extensionMandatoryUnmet },
  badKeyIds: { status: 400, message: 'key_IDs must be a non-empty array of valid, distinct key IDs' },
  keysNotFound: { status: 400, message: SPEC_ERROR.keysNotFound },
  insufficientKeys: { status: 503, message: 'not enough keys available' },
  tooManyWaiting: { status: 503, message: 'too many delivered keys wait for their slave: retrieve some with dec_keys first' },
  remoteUnavailable: { status: 503, message: 'remote key manager unavailable' },
  serviceUnavailable: { status: 503, message: 'service unavailable' },
};

export interface EtsiErrorResponse {
  readonly status: number;
  readonly body: ErrorBody;
}

export function toEtsiError(error: KmeError, profile: Profile): EtsiErrorResponse {
  const row = ERROR_TABLE[error.kind];
  // Where the spec is silent the profile chooses the answer: for unknown keys, and for a pool run short.
  const chosen = error.kind === 'keysNotFound' ? profile.keyNotFound : error.kind === 'insufficientKeys' ? profile.insufficientKeys : null;
  const status = chosen?.status ?? row.status;
  const message = chosen?.message ?? (error.reason === undefined ? row.message : `${row.message}: ${error.reason}`);
  const body: ErrorBody =
    error.details !== undefined && error.details.length > 0
      ? { message, details: error.details.map((detail) => ({ ...detail })) }
      : { message };
  return { status, body };
}

export function kmeError(kind: KmeErrorKind, details?: ReadonlyArray<Readonly<Record<string, unknown>>>): KmeError {
  return details === undefined ? { kind } : { kind, details };
}

/** An ID a caller chose, cut to a length an error message can carry. */
export function shortId(id: string): string {
  return id.length > 64 ? `${id.slice(0, 64)}…` : id;
}

/** A 401 for a caller this KME does not know. */
export function unknownCaller(callerSaeId: string, kmeId: string): KmeError {
  return { kind: 'unauthorized', reason: `${shortId(callerSaeId)} is not an SAE known to ${kmeId}` };
}

/** A 401 that says why: an unknown caller, or a caller attached to another KME than the one it asked. */
export function unauthorizedCaller(world: { readonly saes: ReadonlyMap<string, { readonly kmeId: string }> }, callerSaeId: string, kmeId: string): KmeError | null {
  const caller = world.saes.get(callerSaeId);
  if (caller === undefined) return unknownCaller(callerSaeId, kmeId);
  if (caller.kmeId !== kmeId) return { kind: 'unauthorized', reason: `${callerSaeId} is attached to ${caller.kmeId}, not ${kmeId}` };
  return null;
}
