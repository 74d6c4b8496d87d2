// The checker's HTTP client. A real server misbehaves: timeouts, refused connections, TLS failures, HTML
// error pages, bodies that are not JSON. Every one of these comes back as data, never as a throw.
import { readFileSync } from 'node:fs';
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { TargetSae } from './targetSchema.js';

export interface EtsiRequest {
  readonly kmeUrl: string;
  readonly sae: TargetSae | null;
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Path and query, e.g. /api/v1/keys/SAE_B1/status */
  readonly path: string;
  /** JSON text (sent as application/json) or a raw body with its content type. */
  readonly body?: string | { readonly raw: string; readonly contentType: string };
  readonly timeoutMs: number;
}

export type TransportFailure = 'timeout' | 'connection' | 'tls';

export interface EtsiResponse {
  /** HTTP status, or 0 when no HTTP answer came (see failure). */
  readonly status: number;
  readonly failure?: TransportFailure;
  readonly failureDetail?: string;
  readonly contentType: string;
  readonly text: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  readonly json: unknown;
  readonly elapsedMs: number;
}

const agents = new Map<string, HttpAgent | HttpsAgent>();

function agentFor(url: URL, sae: TargetSae | null): HttpAgent | HttpsAgent {
  const key = `${url.protocol}//${url.host}|${sae?.cert ?? ''}|${sae?.insecure === true ? 'insecure' : ''}`;
  let agent = agents.get(key);
  if (agent === undefined) {
    agent =
      url.protocol === 'https:'
        ? new HttpsAgent({
            keepAlive: true,
            maxSockets: 64,
            ...(sae?.cert === undefined ? {} : { cert: readFileSync(sae.cert), key: readFileSync(sae.key as string) }),
            ...(sae?.ca === undefined ? {} : { ca: readFileSync(sae.ca) }),
            rejectUnauthorized: sae?.insecure !== true,
            ...(sae?.insecure === true ? { checkServerIdentity: () => undefined } : {}),
          })
        : new HttpAgent({ keepAlive: true, maxSockets: 64 });
    agents.set(key, agent);
  }
  return agent;
}

export function closeAgents(): void {
  for (const agent of agents.values()) agent.destroy();
  agents.clear();
}

export function sendEtsi(request: EtsiRequest): Promise<EtsiResponse> {
  const started = performance.now();
  const url = new URL(request.path, request.kmeUrl);
  const headers: Record<string, string> = { accept: 'application/json' };
  if (request.sae?.header !== undefined) headers[request.sae.header] = request.sae.value ?? request.sae.id;
  let payload: Buffer | undefined;
  if (request.body !== undefined) {
    const raw = typeof request.body === 'string' ? request.body : request.body.raw;
    headers['content-type'] = typeof request.body === 'string' ? 'application/json' : request.body.contentType;
    payload = Buffer.from(raw, 'utf8');
    headers['content-length'] = String(payload.length);
  }
  return new Promise((resolve) => {
    let settled = false;
    const finish = (response: Omit<EtsiResponse, 'elapsedMs'>): void => {
      if (settled) return;
      settled = true;
      resolve({ ...response, elapsedMs: Math.round(performance.now() - started) });
    };
    const fail = (failure: TransportFailure, detail: string): void => finish({ status: 0, failure, failureDetail: detail, contentType: '', text: '', json: undefined });
    let agent: HttpAgent | HttpsAgent;
    try {
      agent = agentFor(url, request.sae);
    } catch (error) {
      return fail('tls', `cannot read the certificate files: ${(error as Error).message}`);
    }
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(url, { method: request.method, headers, agent, timeout: request.timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        // A runaway body is a finding, not a reason to exhaust memory.
        if (size <= 4 * 1024 * 1024) chunks.push(chunk);
      });
      res.on('error', (error) => fail('connection', error.message));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = text.length === 0 ? undefined : JSON.parse(text);
        } catch {
          json = undefined;
        }
        finish({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? ''), text, json });
      });
    });
    req.on('timeout', () => {
      req.destroy();
      fail('timeout', `no answer within ${request.timeoutMs} ms`);
    });
    req.on('error', (error: NodeJS.ErrnoException) => {
      const tls = /SSL|TLS|CERT|certificate|handshake|EPROTO/i.test(`${error.code ?? ''} ${error.message}`);
      fail(tls ? 'tls' : 'connection', `${error.code ?? ''} ${error.message}`.trim());
    });
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}
