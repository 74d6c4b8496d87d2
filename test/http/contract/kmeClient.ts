// One way to talk to a fresh two-KME world, whatever runs it: the contract suite (etsiContract.ts) is written
// against KmeClient only, and each factory here starts the same world (SAE_A1, SAE_A2 on KME_A; SAE_B1, SAE_B2
// on KME_B; fixed seed; manual clock) behind a different transport: the Express app without a socket, the
// HTTP server with header identity, and the HTTPS server with client certificates.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'light-my-request';
import type { Express } from 'express';
import { stringify } from 'yaml';
import type { BugName } from '../../../src/model/bugs.js';
import { resolveProfile, type Profile } from '../../../src/model/profiles.js';
import { createWorld, type World } from '../../../src/model/world.js';
import { ensureCertificates } from '../../../src/http/certificates.js';
import { createApp } from '../../../src/http/createApp.js';
import { createHostClock } from '../../../src/http/hostClock.js';
import { createKmeHost } from '../../../src/http/kmeHost.js';
import { startServer, type RunningServer, type ServerOptions } from '../../../src/http/startServer.js';
import { createScenarioSetup } from '../../../src/sim/scenarioSetup.js';
import { createRequestJournal } from '../../../src/http/requestJournal.js';

export type KmeName = 'KME_A' | 'KME_B';

export const KME_NAMES: readonly KmeName[] = ['KME_A', 'KME_B'];
export const SAES_BY_KME: Readonly<Record<KmeName, readonly string[]>> = { KME_A: ['SAE_A1', 'SAE_A2'], KME_B: ['SAE_B1', 'SAE_B2'] };
export const CONTRACT_SEED = 1414;
export const IDENTITY_HEADER = 'X-SAE-ID';

/** A body sent byte for byte with its own content type ('' sends none), for malformed and non-JSON bodies. */
export class RawBody {
  constructor(
    readonly raw: string,
    readonly contentType: string,
  ) {}
}

export interface KmeResponse {
  /** 0 when no HTTP response came back at all (a refused TLS handshake); transportError then says why. */
  readonly status: number;
  /** Lower-case names. */
  readonly headers: Readonly<Record<string, string>>;
  /** The parsed JSON body, or undefined when the body is not JSON. */
  readonly body: unknown;
  readonly text: string;
  readonly transportError?: string;
}

export interface KmeClient {
  readonly name: string;
  readonly auth: 'header' | 'mtls';
  /** `as` is the calling SAE ID (null: no identity at all); `body` undefined sends no body. */
  request(kme: KmeName, as: string | null, method: string, path: string, body?: unknown, headers?: Readonly<Record<string, string>>): Promise<KmeResponse>;
  readonly admin: {
    advance(ms: number): Promise<void>;
    /** A fault as the admin API takes it (POST /_kmesim/faults). */
    fault(fault: object): Promise<void>;
  };
  close(): Promise<void>;
}

export interface ContractWorldOptions {
  readonly profile?: 'strict' | 'per-user-pool' | 'lenient';
  readonly bugs?: readonly BugName[];
  readonly maxSaeIdCount?: number;
  readonly poolCapacity?: number;
}

export type NewKmeClient = (options?: ContractWorldOptions) => Promise<KmeClient>;

interface Payload {
  readonly data?: string;
  readonly contentType?: string;
}

function encodeBody(body: unknown): Payload {
  if (body === undefined) return {};
  if (body instanceof RawBody) return body.contentType === '' ? { data: body.raw } : { data: body.raw, contentType: body.contentType };
  return { data: JSON.stringify(body), contentType: 'application/json' };
}

function requestHeaders(as: string | null, payload: Payload, extra: Readonly<Record<string, string>>, identityInHeader: boolean): Record<string, string> {
  return {
    ...(identityInHeader && as !== null ? { [IDENTITY_HEADER]: as } : {}),
    ...(payload.contentType === undefined ? {} : { 'content-type': payload.contentType }),
    ...extra,
  };
}

function toResponse(status: number, rawHeaders: Readonly<Record<string, unknown>>, text: string): KmeResponse {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(rawHeaders)) {
    if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status, headers, body, text };
}

function expectAdminOk(what: string, response: KmeResponse): void {
  if (response.status !== 200) throw new Error(`admin ${what} answered ${response.status}: ${response.text}`);
}

function profileFor(options: ContractWorldOptions): Profile {
  const overrides: Partial<{ -readonly [K in keyof Profile]: Profile[K] }> = {};
  if (options.maxSaeIdCount !== undefined) overrides.maxSaeIdCount = options.maxSaeIdCount;
  if (options.poolCapacity !== undefined) overrides.poolCapacity = options.poolCapacity;
  return resolveProfile(options.profile ?? 'strict', overrides);
}

/** The Express apps driven without a socket (light-my-request); identity in the header, admin API in process. */
export const createInProcessClient: NewKmeClient = async (options = {}) => {
  const profile = profileFor(options);
  const bugs = new Set(options.bugs ?? []);
  // The same world seed as startServer, so every implementation issues the same key IDs and bytes.
  const newWorld = (seed: number): World => createWorld({ seed: `serve:${seed}`, profile, kmeIds: KME_NAMES, bugs });
  const host = createKmeHost({ world: newWorld(CONTRACT_SEED), clock: createHostClock('manual'), syncLatencyMs: 1_000 });
  const register = (): void => {
    for (const kmeId of KME_NAMES) for (const saeId of SAES_BY_KME[kmeId]) host.execute({ type: 'sae.register', saeId, kmeId });
  };
  register();
  const reset = (seed = 0): number => {
    host.replaceWorld(newWorld(seed));
    register();
    return seed;
  };
  const auth = { kind: 'header', header: IDENTITY_HEADER } as const;
  const apps = Object.fromEntries(
    KME_NAMES.map((kmeId) => [kmeId, createApp({ host, kmeId, auth, admin: { host, token: randomUUID(), kmeIds: KME_NAMES, reset, requests: createRequestJournal() } })]),
  ) as Record<KmeName, Express>;
  // light-my-request re-parents Express's shared request and response prototypes on every injection, which
  // breaks any real server of this module graph; close() puts them back so a real server may follow.
  const restorePrototypes = sharedPrototypeRestorer(apps.KME_A);
  const send = async (kme: KmeName, as: string | null, method: string, path: string, body?: unknown, headers: Readonly<Record<string, string>> = {}): Promise<KmeResponse> => {
    const payload = encodeBody(body);
    const response = await inject(apps[kme], {
      method,
      url: path,
      headers: requestHeaders(as, payload, headers, true),
      remoteAddress: '127.0.0.1',
      ...(payload.data === undefined ? {} : { payload: payload.data }),
    });
    return toResponse(response.statusCode, response.headers, response.payload);
  };
  return {
    name: 'in-process',
    auth: 'header',
    request: send,
    admin: {
      advance: async (ms) => expectAdminOk('advance', await send('KME_A', null, 'POST', '/_kmesim/clock/advance', { ms })),
      fault: async (fault) => expectAdminOk('fault', await send('KME_A', null, 'POST', '/_kmesim/faults', fault)),
    },
    close: async () => {
      host.close();
      restorePrototypes();
    },
  };
};

function sharedPrototypeRestorer(app: Express): () => void {
  const shared = [Object.getPrototypeOf(app.request) as object, Object.getPrototypeOf(app.response) as object];
  const parents = shared.map((proto) => Object.getPrototypeOf(proto) as object | null);
  return () => shared.forEach((proto, i) => Object.setPrototypeOf(proto, parents[i] ?? null));
}

/**
 * startServer options for the contract world. Profile switches beyond a profile name only come in through a
 * scenario file, so one is written (and removed on close) when they are asked for.
 */
function serverOptions(options: ContractWorldOptions): { readonly server: ServerOptions; readonly cleanup: () => void } {
  const base = { port: 0, kmes: 2, clock: 'manual', seed: CONTRACT_SEED, bugs: [...(options.bugs ?? [])] } as const;
  if (options.maxSaeIdCount === undefined && options.poolCapacity === undefined) {
    return { server: { ...base, profile: options.profile ?? 'strict' }, cleanup: () => undefined };
  }
  const dir = mkdtempSync(join(tmpdir(), 'kmesim-contract-world-'));
  const file = join(dir, 'contract-world.yaml');
  const scenario = {
    name: 'contract-world',
    seeds: [CONTRACT_SEED],
    duration: '1h',
    world: {
      profile: options.profile ?? 'strict',
      kmes: 2,
      users: KME_NAMES.flatMap((kmeId, kme) => SAES_BY_KME[kmeId].map((sae) => ({ name: sae, sae, kme }))),
      ...(options.maxSaeIdCount === undefined ? {} : { maxSaeIdCount: options.maxSaeIdCount }),
      ...(options.poolCapacity === undefined ? {} : { pool: { capacity: options.poolCapacity } }),
    },
  };
  writeFileSync(file, stringify(scenario));
  return { server: { ...base, setup: createScenarioSetup(file) }, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

async function startContractServer(options: ContractWorldOptions, extra: Partial<ServerOptions>): Promise<{ server: RunningServer; urls: Record<KmeName, string> }> {
  const { server: serverOpts, cleanup } = serverOptions(options);
  let server: RunningServer;
  try {
    server = await startServer({ ...serverOpts, ...extra });
  } finally {
    cleanup();
  }
  const urls = Object.fromEntries(server.kmes.map((kme) => [kme.id, kme.url])) as Record<KmeName, string>;
  const expected = KME_NAMES.flatMap((kmeId) => SAES_BY_KME[kmeId].map((id) => `${id}@${kmeId}`));
  const actual = server.saes.map((sae) => `${sae.id}@${sae.kme}`);
  if (JSON.stringify(actual) !== JSON.stringify(expected)) {
    await server.close();
    throw new Error(`contract world has SAEs ${actual.join(', ')}, expected ${expected.join(', ')}`);
  }
  return { server, urls };
}

/** startServer with header identity, called with real fetch. */
export const createHttpHeaderClient: NewKmeClient = async (options = {}) => {
  const { server, urls } = await startContractServer(options, { auth: 'header' });
  const fetchUrl = async (url: string, as: string | null, method: string, body?: unknown, headers: Readonly<Record<string, string>> = {}): Promise<KmeResponse> => {
    const payload = encodeBody(body);
    const response = await fetch(url, { method, headers: requestHeaders(as, payload, headers, true), ...(payload.data === undefined ? {} : { body: payload.data }) });
    return toResponse(response.status, Object.fromEntries(response.headers), await response.text());
  };
  return {
    name: 'http-header',
    auth: 'header',
    request: (kme, as, method, path, body, headers) => fetchUrl(`${urls[kme]}${path}`, as, method, body, headers),
    admin: {
      advance: async (ms) => expectAdminOk('advance', await fetchUrl(`${server.admin}/clock/advance`, null, 'POST', { ms })),
      fault: async (fault) => expectAdminOk('fault', await fetchUrl(`${server.admin}/faults`, null, 'POST', fault)),
    },
    close: () => server.close(),
  };
};

export interface TlsIdentity {
  readonly cert: Buffer;
  readonly key: Buffer;
}

export interface TlsCaller {
  readonly ca: Buffer;
  /** The client certificate, or null to offer none. */
  readonly identity: TlsIdentity | null;
  /** A keep-alive agent bound to that identity; absent: a fresh connection for this one request. */
  readonly agent?: Agent;
}

/** One HTTPS exchange; a failure before any response (a refused handshake) comes back as status 0. */
export function requestOverTls(url: string, caller: TlsCaller, method: string, body?: unknown, headers: Readonly<Record<string, string>> = {}): Promise<KmeResponse> {
  const payload = encodeBody(body);
  const target = new URL(url);
  return new Promise((resolve) => {
    const failed = (error: Error): void =>
      resolve({ status: 0, headers: {}, body: undefined, text: '', transportError: `${(error as NodeJS.ErrnoException).code ?? 'error'}: ${error.message}` });
    const req = httpsRequest(
      {
        hostname: target.hostname,
        port: target.port,
        path: `${target.pathname}${target.search}`,
        method,
        headers: {
          ...requestHeaders(null, payload, headers, false),
          ...(payload.data === undefined ? {} : { 'content-length': String(Buffer.byteLength(payload.data)) }),
        },
        ca: caller.ca,
        ...(caller.identity === null ? {} : { cert: caller.identity.cert, key: caller.identity.key }),
        agent: caller.agent ?? false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', failed);
        res.on('end', () => resolve(toResponse(res.statusCode ?? 0, res.headers, Buffer.concat(chunks).toString('utf8'))));
      },
    );
    req.on('error', failed);
    req.end(payload.data);
  });
}

/**
 * startServer with mTLS identity, called with https.request and the SAE's client certificate from the ready
 * info. A caller the world does not know gets a certificate from the same CA, made on first use.
 */
export function createHttpMtlsClientFactory(certDir: string): NewKmeClient {
  return async (options = {}) => {
    const { server, urls } = await startContractServer(options, { auth: 'mtls', certDir });
    const certs = server.certs;
    if (certs === undefined) throw new Error('an mTLS server reported no certificates');
    const ca = readFileSync(certs.ca);
    // One keep-alive agent per identity: connections are reused only by the SAE whose certificate opened them.
    const callers = new Map<string, Required<TlsCaller>>();
    const callerOf = (saeId: string): TlsCaller => {
      const known = callers.get(saeId);
      if (known !== undefined) return known;
      const pair = certs.saes[saeId] ?? ensureCertificates(certDir, { kmeIds: [], saeIds: [saeId], hosts: [] }).saes[saeId];
      if (pair === undefined) throw new Error(`no client certificate for ${saeId}`);
      const identity = { cert: readFileSync(pair.cert), key: readFileSync(pair.key) };
      const caller = { ca, identity, agent: new Agent({ keepAlive: true, ca, cert: identity.cert, key: identity.key }) };
      callers.set(saeId, caller);
      return caller;
    };
    // The admin API sits behind the same TLS listener, so it needs some client certificate too.
    const adminCall = async (what: string, path: string, body: unknown): Promise<void> =>
      expectAdminOk(what, await requestOverTls(`${server.admin}${path}`, callerOf('SAE_A1'), 'POST', body));
    return {
      name: 'http-mtls',
      auth: 'mtls',
      request: (kme, as, method, path, body, headers) =>
        requestOverTls(`${urls[kme]}${path}`, as === null ? { ca, identity: null } : callerOf(as), method, body, headers),
      admin: {
        advance: (ms) => adminCall('advance', '/clock/advance', { ms }),
        fault: (fault) => adminCall('fault', '/faults', fault),
      },
      close: async () => {
        for (const caller of callers.values()) caller.agent.destroy();
        await server.close();
      },
    };
  };
}
