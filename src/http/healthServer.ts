// Under mutual TLS every connection to a KME must show a client certificate in its handshake (C1), so a
// CI's readiness probe, which has none, cannot reach the KMEs' /health. This plain-HTTP listener answers
// GET /health (and nothing else) for all of them, without a certificate; its URL is in the ready line. It
// carries no key, no state beyond "serving", and no admin.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sendTransportError } from './httpErrors.js';
import { answerProtocolErrorsAsJson } from './protocolErrors.js';

export interface HealthListener {
  readonly server: Server;
  /** `http://127.0.0.1:PORT/health`. */
  readonly url: string;
}

export async function listenHealth(bindHost: string, urlHost: string, kmeIds: readonly string[]): Promise<HealthListener> {
  const body = JSON.stringify({ status: 'ok', kme_ids: kmeIds });
  const server = createServer((req, res) => {
    const path = (req.url ?? '').split('?', 1)[0];
    if (path !== '/health') return sendTransportError(res, { kind: 'unknownRoute', method: req.method ?? '', path: path ?? '' });
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendTransportError(res, { kind: 'methodNotAllowed', allow: ['GET', 'HEAD'] });
    res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  server.keepAliveTimeout = 5_000;
  answerProtocolErrorsAsJson(server);
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, bindHost, () => resolve((server.address() as AddressInfo).port));
  });
  return { server, url: `http://${urlHost}:${port}/health` };
}
