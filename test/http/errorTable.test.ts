// Every transport error kind of the one error table (src/http/errorTable.ts), provoked on both of the
// server's paths: a server listening with the ETSI fast path in front of the app (as createRequestListener
// composes them; the fast path answers the kinds it can meet itself) and one with the bare Express app,
// each on a twin world and each with the protocol-level answers of startServer. Both must answer every
// kind with the same status, headers and Error body, and that answer must be the table's. Requests go as
// raw bytes on a socket (a well-behaved client would refuse some of them), except a body shorter than its
// Content-Length, which only an injected request can deliver: over a socket, Node's own parser answers it
// first (malformed request).
import { inject } from 'light-my-request';
import { createServer, type RequestListener, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { createApp, routeContext, type AppOptions } from '../../src/http/createApp.js';
import { createEtsiFastPath } from '../../src/http/etsiFastPath.js';
import { errorAnswer, transportAnswer, TRANSPORT_ERRORS, type TransportError, type TransportErrorKind } from '../../src/http/errorTable.js';
import { createHostClock } from '../../src/http/hostClock.js';
import { createKmeHost, StorageError, type KmeHost } from '../../src/http/kmeHost.js';
import { answerProtocolErrorsAsJson } from '../../src/http/protocolErrors.js';
import { toEtsiError, type KmeErrorKind } from '../../src/model/kmeError.js';
import { resolveProfile } from '../../src/model/profiles.js';
import { createWorld } from '../../src/model/world.js';
import { createRequestJournal } from '../../src/http/requestJournal.js';

interface Answer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly body: unknown;
}

interface Case {
  readonly expected: TransportError;
  /** The raw request (latin1), or an injected one. */
  readonly request: string | { readonly inject: Parameters<typeof inject>[1] };
  /** Leave the socket open after the request (the server must end the connection: by timing it out, or after its answer). */
  readonly keepOpen?: true;
  /** Changes to the host before the request (faults). */
  readonly setup?: (host: KmeHost) => void;
  /** The host's request() rejects with this error. */
  readonly requestFails?: Error;
  /** The caller is not on loopback. */
  readonly remote?: true;
  /** The fast path takes the request (on the first server); otherwise it leaves it to the app. */
  readonly fast?: true;
}

const ENC = '/api/v1/keys/SAE_A2/enc_keys';
const STATUS = '/api/v1/keys/SAE_A2/status';
const HEAD = 'Host: 127.0.0.1\r\nX-SAE-ID: SAE_A1\r\n';

function post(path: string, contentType: string, body: string): string {
  return `POST ${path} HTTP/1.1\r\n${HEAD}Content-Type: ${contentType}\r\nContent-Length: ${Buffer.byteLength(body, 'latin1')}\r\nConnection: close\r\n\r\n${body}`;
}

function get(path: string, headers = HEAD, method = 'GET'): string {
  return `${method} ${path} HTTP/1.1\r\n${headers}Connection: close\r\n\r\n`;
}

const CASES: { readonly [K in TransportErrorKind]: readonly Case[] } = {
  notJson: [{ expected: { kind: 'notJson' }, request: post(ENC, 'application/json', '{"number": 1'), fast: true }],
  bodyUnreadable: [
    {
      expected: { kind: 'bodyUnreadable' },
      request: { inject: { method: 'POST', url: ENC, headers: { 'x-sae-id': 'SAE_A1', 'content-type': 'application/json', 'content-length': '10' }, payload: '{}' } },
      fast: true,
    },
  ],
  unsupportedMediaType: [{ expected: { kind: 'unsupportedMediaType' }, request: post(ENC, 'text/plain', '{"number":1}') }],
  unsupportedEncoding: [{ expected: { kind: 'unsupportedEncoding' }, request: post(ENC, 'application/json; charset=latin1', '{"number":1}') }],
  bodyTooLarge: [{ expected: { kind: 'bodyTooLarge' }, request: post(ENC, 'application/json', `{"pad":"${'x'.repeat(300 * 1024)}"}`) }],
  bodyTooDeep: [
    { expected: { kind: 'bodyTooDeep', max: 32 }, request: post(ENC, 'application/json', `{"extension_optional":${'['.repeat(4_200)}${']'.repeat(4_200)}}`), fast: true },
    { expected: { kind: 'bodyTooDeep', max: 32 }, request: post('/_kmesim/faults', 'application/json', `${'{"a":'.repeat(40)}1${'}'.repeat(40)}`) },
  ],
  refusedByParser: [{ expected: { kind: 'refusedByParser', status: 400 }, request: get('/api/v1/keys/SAE%E0%A4%A/enc_keys') }],
  methodNotAllowed: [
    { expected: { kind: 'methodNotAllowed', allow: ['GET', 'POST'] }, request: post(ENC.replace('enc', 'dec'), 'application/json', '{}').replace('POST', 'PUT') },
    { expected: { kind: 'methodNotAllowed', allow: ['GET', 'POST'] }, request: get(ENC, HEAD, 'PATCH') },
    { expected: { kind: 'methodNotAllowed', allow: ['GET'] }, request: post(STATUS, 'application/json', '{}') },
    { expected: { kind: 'methodNotAllowed', allow: ['POST'] }, request: get('/_kmesim/reset', HEAD, 'OPTIONS') },
  ],
  unknownRoute: [{ expected: { kind: 'unknownRoute', method: 'GET', path: '/api/v1/nothing' }, request: get('/api/v1/nothing') }],
  noIdentity: [
    { expected: { kind: 'noIdentity', auth: { kind: 'header', header: 'X-SAE-ID' } }, request: get(STATUS, 'Host: 127.0.0.1\r\n'), fast: true },
    { expected: { kind: 'noIdentity', auth: { kind: 'header', header: 'X-SAE-ID' } }, request: post(ENC, 'application/json', '{}').replace('X-SAE-ID: SAE_A1', 'X-SAE-ID: '), fast: true },
  ],
  adminTokenRequired: [{ expected: { kind: 'adminTokenRequired' }, request: get('/_kmesim/state'), remote: true }],
  kmeRestarting: [{ expected: { kind: 'kmeRestarting' }, request: get(STATUS), setup: (host) => host.faults.downUntil.set('KME_A', host.clock.now() + 60_000), fast: true }],
  injectedFailure: [
    { expected: { kind: 'injectedFailure', status: 503 }, request: post(ENC, 'application/json', '{}'), setup: (host) => (host.faults.failNext = { count: 1, status: 503 }), fast: true },
    { expected: { kind: 'injectedFailure', status: 500 }, request: get(STATUS), setup: (host) => (host.faults.failNext = { count: 1, status: 500 }), fast: true },
  ],
  storageFailure: [{ expected: { kind: 'storageFailure' }, request: post(ENC, 'application/json', '{"number":1}'), requestFails: new StorageError('disk full'), fast: true }],
  internal: [{ expected: { kind: 'internal' }, request: get(STATUS), requestFails: new Error('planted bug'), fast: true }],
  malformedRequest: [
    { expected: { kind: 'malformedRequest' }, request: get(STATUS, HEAD, 'FOO') },
    { expected: { kind: 'malformedRequest' }, request: get('/api/v1/keys/\xe9\xff/status') },
  ],
  headersTooLarge: [{ expected: { kind: 'headersTooLarge' }, request: get(`/api/v1/keys/${'x'.repeat(20_000)}/status`) }],
  chunkExtensionsTooLarge: [
    {
      expected: { kind: 'chunkExtensionsTooLarge' },
      request: `POST ${ENC} HTTP/1.1\r\n${HEAD}Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n2;${'a'.repeat(20_000)}\r\n{}\r\n0\r\n\r\n`,
    },
  ],
  requestTimeout: [{ expected: { kind: 'requestTimeout' }, request: `GET ${STATUS} HTTP/1.1\r\n${HEAD}`, keepOpen: true }],
  unsupportedExpect: [{ expected: { kind: 'unsupportedExpect' }, request: get(STATUS, `${HEAD}Expect: something-else\r\n`) }],
  missingHost: [
    { expected: { kind: 'missingHost' }, request: get(STATUS, 'X-SAE-ID: SAE_A1\r\n') },
    { expected: { kind: 'missingHost' }, request: post(ENC, 'application/json', '{"number":1}').replace('Host: 127.0.0.1\r\n', '') },
    { expected: { kind: 'missingHost' }, request: get(STATUS, 'X-SAE-ID: SAE_A1\r\nExpect: something-else\r\n') },
  ],
  connectNotSupported: [
    { expected: { kind: 'connectNotSupported' }, request: 'CONNECT 127.0.0.1:443 HTTP/1.1\r\nHost: 127.0.0.1:443\r\n\r\n' },
    { expected: { kind: 'connectNotSupported' }, request: `CONNECT example.org:80 HTTP/1.1\r\n${HEAD}\r\n`, keepOpen: true },
  ],
};

const servers: Server[] = [];
const bugs: unknown[] = [];
/** Whether the fast path took the last request (as createRequestListener composes it with the app). */
let taken = false;

afterEach(async () => {
  await Promise.all(
    servers.splice(0).map(
      (server) =>
        new Promise((resolve) => {
          server.closeAllConnections();
          server.close(resolve);
        }),
    ),
  );
});

/** One KME's app options on a fresh world (the same for the same case), with the case's faults. */
function appOptions(test: Case): AppOptions {
  const world = createWorld({ seed: 'error-table', profile: resolveProfile('strict'), kmeIds: ['KME_A', 'KME_B'] });
  const real = createKmeHost({ world, clock: createHostClock('manual') });
  for (const [saeId, kmeId] of [['SAE_A1', 'KME_A'], ['SAE_A2', 'KME_A'], ['SAE_B1', 'KME_B']] as const) real.execute({ type: 'sae.register', saeId, kmeId });
  test.setup?.(real);
  const fails = test.requestFails;
  const host: KmeHost = fails === undefined ? real : new Proxy(real, { get: (target, name) => (name === 'request' ? () => Promise.reject(fails) : Reflect.get(target, name)) });
  const admin = { host, token: 'token', kmeIds: ['KME_A', 'KME_B'], reset: () => 0, requests: createRequestJournal() };
  return { host, kmeId: 'KME_A', auth: { kind: 'header', header: 'X-SAE-ID' }, admin, onBug: (error) => bugs.push(error) };
}

/** The fast path in front of the app, as createRequestListener composes them, noting whether it took the request. */
function fastThenApp(options: AppOptions): RequestListener {
  const app = createApp(options);
  const fastPath = createEtsiFastPath({ ctx: routeContext(options), bodyLimitBytes: 256 * 1024, onBug: (error) => bugs.push(error) });
  return (req, res) => {
    taken = fastPath(req, res);
    if (!taken) app(req, res);
  };
}

async function listen(listener: RequestListener, remote: boolean): Promise<number> {
  // Short timeouts, checked often, so that a request that never completes is answered 408 within the test.
  const server = createServer({ requestTimeout: 1_000, headersTimeout: 1_000, connectionsCheckingInterval: 100 }, listener);
  answerProtocolErrorsAsJson(server);
  if (remote) server.on('connection', (socket) => Object.defineProperty(socket, 'remoteAddress', { value: '203.0.113.7' }));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

const HEADERS = ['content-type', 'content-length', 'allow', 'www-authenticate'] as const;

/** Writes the request and reads until the server closes the connection. */
function sendRaw(port: number, test: Case & { readonly request: string }): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.setTimeout(10_000, () => socket.destroy(new Error('no answer within 10 s')));
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const split = text.indexOf('\r\n\r\n');
      const [statusLine = '', ...lines] = text.slice(0, split < 0 ? text.length : split).split('\r\n');
      const all = new Map(lines.map((line) => [line.slice(0, line.indexOf(':')).trim().toLowerCase(), line.slice(line.indexOf(':') + 1).trim()] as const));
      const body = split < 0 ? '' : text.slice(split + 4);
      resolve({ status: Number(statusLine.split(' ')[1]), headers: Object.fromEntries(HEADERS.map((name) => [name, all.get(name)])), body: body === '' ? undefined : (JSON.parse(body) as unknown) });
    });
    const bytes = Buffer.from(test.request, 'latin1');
    if (test.keepOpen === true) socket.write(bytes);
    else socket.end(bytes);
  });
}

async function ask(listener: RequestListener, test: Case): Promise<Answer> {
  const { request } = test;
  if (typeof request === 'string') return sendRaw(await listen(listener, test.remote === true), { ...test, request });
  const reply = await inject(listener, request.inject);
  const headers = Object.fromEntries(HEADERS.map((name) => [name, reply.headers[name] === undefined ? undefined : String(reply.headers[name])]));
  return { status: reply.statusCode, headers, body: JSON.parse(reply.payload) as unknown };
}

it('provokes every transport error kind of the table', () => {
  expect(Object.keys(CASES).sort()).toEqual(Object.keys(TRANSPORT_ERRORS).sort());
});

const ALL_CASES = (Object.entries(CASES) as Array<[TransportErrorKind, readonly Case[]]>).flatMap(([kind, cases]) =>
  cases.map((test, n) => ({ kind, test, name: `${kind}${cases.length > 1 ? ` (${n + 1})` : ''}` })),
);

// Injected cases come last: injecting into an Express app gives Express's request prototype light-my-request's
// (for this file's module instance), after which that Express no longer serves real sockets.
for (const { kind, test, name } of [...ALL_CASES.filter((c) => typeof c.test.request === 'string'), ...ALL_CASES.filter((c) => typeof c.test.request !== 'string')]) {
  it(`answers ${name} the same on both paths, as the table says`, async () => {
    taken = false;
    const fast = await ask(fastThenApp(appOptions(test)), test);
    expect(taken).toBe(test.fast === true);
    const app = await ask(createApp(appOptions(test)), test);
    expect(fast).toEqual(app);
    const { status, body, headers } = transportAnswer(test.expected);
    expect(fast.status).toBe(status);
    expect(fast.body).toEqual(body);
    expect(fast.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(fast.headers['allow']).toBe(headers['Allow']);
    expect(fast.headers['www-authenticate']).toBe(headers['WWW-Authenticate']);
    // A bug is reported once per server, and nothing else is one.
    expect(bugs.splice(0)).toEqual(kind === 'internal' ? [test.requestFails, test.requestFails] : []);
  });
}

it('answers domain errors through the model table, profile included', () => {
  const kinds: readonly KmeErrorKind[] = ['unauthorized', 'unknownSlave', 'keysNotFound', 'insufficientKeys'];
  for (const profile of ['strict', 'lenient'].map((name) => resolveProfile(name))) {
    for (const kind of kinds) expect(errorAnswer({ kind, details: [{ n: 1 }] }, profile)).toEqual({ ...toEtsiError({ kind, details: [{ n: 1 }] }, profile), headers: {} });
  }
});
