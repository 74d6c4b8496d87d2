// A recording proxy for key consumers that are not Node processes: one port in front of each KME. A client
// in any language points at these ports instead of the KMEs; every ETSI exchange passes through the same
// recorder as `recordEtsiTraffic`, and the client's sealing and opening code reports the keys it used over
// HTTP (`POST /_client/sealed`, `/_client/opened`). `GET /_client/verdict` judges U1…U7 (and the KMEs'
// invariants, when the proxy is told how to read them); `POST /_client/reset` starts a new run.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import type { Violation } from '../model/violation.js';
import { resetSchema } from '../http/adminRoutes.js';
import { answerProtocolErrorsAsJson } from '../http/protocolErrors.js';
import { STRICT_BASE64 } from '../model/otpEnvelope.js';
import { CLIENT_INVARIANTS, createClientLedger, type ClientFinding } from './clientLedger.js';
import { recordEtsiTraffic, transcriber, type RecordedExchange } from './etsiRecorder.js';

export interface RecordingProxyOptions {
  /** The KMEs to stand in front of: one proxy port each, in this order. */
  readonly targets: ReadonlyArray<{ readonly id: string; readonly url: string }>;
  /** Address to bind (default 127.0.0.1); ports are free ones. */
  readonly host?: string;
  /** The header that names the caller (default X-SAE-ID). */
  readonly identityHeader?: string;
  /** Called by `POST /_client/reset` (the mock's own reset, say); resolves to the seed it reset to. */
  readonly onReset?: (seed?: number) => number | undefined;
  /** The KMEs' violations, when they can be read (the mock's); the verdict includes them. */
  readonly kmeViolations?: () => readonly Violation[];
  /** Most exchanges one run records before the proxy refuses more traffic until a reset (default 100,000). */
  readonly limit?: number;
}

export interface ClientVerdict {
  readonly holds: boolean;
  readonly findings: ReadonlyArray<ClientFinding & { readonly rule: string; readonly transcript: readonly string[] }>;
  readonly violations: readonly Violation[];
  readonly exchanges: number;
}

export interface RecordingProxy {
  /** Where the client goes instead of each KME: the same IDs, proxy URLs. */
  readonly kmes: ReadonlyArray<{ readonly id: string; readonly url: string }>;
  /** The ledger's base URL: `{ledger}/sealed`, `/opened`, `/enveloped`, `/excuse`, `/verdict`, `/reset`. */
  readonly ledger: string;
  verdict(): ClientVerdict;
  exchanges(): readonly RecordedExchange[];
  reset(seed?: number): void;
  close(): Promise<void>;
}

const LEDGER_PREFIX = '/_client';
/** Request bodies past this many bytes are refused (an ETSI request is a few hundred). */
const MAX_BODY_BYTES = 1 << 20;
const HOP_BY_HOP = new Set(['host', 'connection', 'content-length', 'transfer-encoding', 'keep-alive', 'expect', 'upgrade', 'proxy-connection', 'te', 'trailer']);
const ANSWER_DROPPED = new Set(['content-length', 'transfer-encoding', 'connection', 'content-encoding', 'keep-alive']);

const id = z.string().min(1).max(256);
const useSchema = z.strictObject({ message: id, sae: id, keyIds: z.array(id).max(4_096) });
const base64 = z.string().max(1 << 19).regex(STRICT_BASE64, 'base64');
const envelopeSchema = z.strictObject({ message: id, plaintext: base64, ciphertext: base64 });
const excuseSchema = z.strictObject({ keyIds: z.array(id).min(1).max(4_096), reason: z.string().min(1).max(512) });

export async function startRecordingProxy(options: RecordingProxyOptions): Promise<RecordingProxy> {
  if (options.targets.length === 0) throw new RangeError('startRecordingProxy: give at least one target KME');
  const limit = options.limit ?? 100_000;
  const recorder = recordEtsiTraffic(options.identityHeader === undefined ? {} : { identityHeader: options.identityHeader });
  const ledger = createClientLedger();
  let uses = 0;
  let forwarded = 0;

  const verdict = (): ClientVerdict => {
    const exchanges = recorder.exchanges();
    const transcript = transcriber(exchanges);
    const findings = ledger.judge(exchanges, recorder.keyBytes).map((finding) => ({ ...finding, rule: CLIENT_INVARIANTS[finding.invariant], transcript: transcript(finding.requests) }));
    const violations = options.kmeViolations?.() ?? [];
    return { holds: findings.length === 0 && violations.length === 0, findings, violations: violations.slice(0, 100), exchanges: exchanges.length };
  };
  const reset = (seed?: number): number | undefined => {
    const resetTo = options.onReset?.(seed);
    recorder.clear();
    ledger.clear();
    uses = 0;
    forwarded = 0;
    return resetTo;
  };

  const ledgerRoute = async (req: IncomingMessage, res: ServerResponse, path: string): Promise<void> => {
    const route = `${req.method ?? 'GET'} ${path}`;
    if (route === `GET ${LEDGER_PREFIX}/verdict`) {
      let judged: ClientVerdict;
      try {
        judged = verdict();
      } catch {
        return etsiError(res, 503, 'the verdict could not be read from the KMEs');
      }
      return json(res, 200, judged);
    }
    const body = await readJson(req, res);
    if (body === undefined) return;
    switch (route) {
      case `POST ${LEDGER_PREFIX}/sealed`:
      case `POST ${LEDGER_PREFIX}/opened`: {
        const parsed = useSchema.safeParse(body);
        if (!parsed.success) return etsiError(res, 400, `body must be {"message": an ID, "sae": an SAE ID, "keyIds": [at most 4,096 key IDs in the order applied]}${named(parsed.error)}`);
        if (++uses > limit) return etsiError(res, 503, `the ledger is full (${limit} entries): POST ${LEDGER_PREFIX}/reset`);
        const { message, sae, keyIds } = parsed.data;
        if (path.endsWith('/sealed')) ledger.sealed(message, sae, keyIds);
        else ledger.opened(message, sae, keyIds);
        return json(res, 200, { recorded: true });
      }
      case `POST ${LEDGER_PREFIX}/enveloped`: {
        const parsed = envelopeSchema.safeParse(body);
        if (!parsed.success) return etsiError(res, 400, `body must be {"message": an ID, "plaintext": base64, "ciphertext": base64} (each at most 512 KiB)${named(parsed.error)}`);
        if (++uses > limit) return etsiError(res, 503, `the ledger is full (${limit} entries): POST ${LEDGER_PREFIX}/reset`);
        ledger.enveloped(parsed.data.message, Buffer.from(parsed.data.plaintext, 'base64'), Buffer.from(parsed.data.ciphertext, 'base64'));
        return json(res, 200, { recorded: true });
      }
      case `POST ${LEDGER_PREFIX}/excuse`: {
        const parsed = excuseSchema.safeParse(body);
        if (!parsed.success) return etsiError(res, 400, `body must be {"keyIds": [1 to 4,096 key IDs], "reason": why a refusal stranded them}${named(parsed.error)}`);
        if (++uses > limit) return etsiError(res, 503, `the ledger is full (${limit} entries): POST ${LEDGER_PREFIX}/reset`);
        ledger.excuse(parsed.data.keyIds, parsed.data.reason);
        return json(res, 200, { excused: parsed.data.keyIds.length });
      }
      case `POST ${LEDGER_PREFIX}/reset`: {
        const parsed = resetSchema.safeParse(body ?? {});
        if (!parsed.success) return etsiError(res, 400, `body must be {} or {"seed": a non-negative integer}${named(parsed.error)}`);
        let seed: number | undefined;
        try {
          seed = reset(parsed.data.seed);
        } catch {
          return etsiError(res, 503, 'the KMEs could not be reset');
        }
        return json(res, 200, seed === undefined ? { reset: true } : { reset: true, seed });
      }
      default:
        return etsiError(res, 404, `no ledger operation ${route} (POST ${LEDGER_PREFIX}/sealed, /opened, /enveloped, /excuse, /reset; GET ${LEDGER_PREFIX}/verdict)`);
    }
  };

  const forward = async (req: IncomingMessage, res: ServerResponse, target: string, path: string): Promise<void> => {
    if (forwarded >= limit) return etsiError(res, 503, `the recording is full (${limit} exchanges): POST ${LEDGER_PREFIX}/reset`);
    forwarded += 1;
    const raw = await readBody(req, res);
    if (raw === undefined) return;
    const headers = new Headers();
    for (const [name, value] of Object.entries(req.headers)) {
      if (HOP_BY_HOP.has(name) || value === undefined) continue;
      for (const one of Array.isArray(value) ? value : [value]) headers.append(name, one);
    }
    const method = req.method ?? 'GET';
    let answer: Response;
    try {
      answer = await recorder.fetch(`${target}${path}`, { method, headers, ...(method === 'GET' || method === 'HEAD' || raw.length === 0 ? {} : { body: raw.toString('utf8') }) });
    } catch {
      return etsiError(res, 502, 'the KME behind the recording proxy did not answer');
    }
    let out: Buffer;
    try {
      out = Buffer.from(await answer.arrayBuffer());
    } catch {
      return etsiError(res, 502, 'the KME behind the recording proxy broke off its answer');
    }
    const kept: Record<string, string> = {};
    answer.headers.forEach((value, name) => {
      if (!ANSWER_DROPPED.has(name)) kept[name] = value;
    });
    // A HEAD answer has no body: its length is the KME's, as it said it.
    const length = method === 'HEAD' ? (answer.headers.get('content-length') ?? '0') : String(out.length);
    res.writeHead(answer.status, { ...kept, 'content-length': length });
    res.end(out);
  };

  const host = options.host ?? '127.0.0.1';
  const servers: Server[] = [];
  const kmes: Array<{ id: string; url: string }> = [];
  const close = async (): Promise<void> => {
    await Promise.all(
      servers.map(
        (server) =>
          new Promise<void>((resolve) => {
            server.close(() => resolve());
            // A request waiting on a KME keeps no stop waiting.
            server.closeAllConnections();
          }),
      ),
    );
  };
  try {
    for (const target of options.targets) {
      const origin = new URL(target.url).origin;
      const server = createServer((req, res) => {
        // Origin-form targets only (`/api/v1/…?…`), passed on as sent: no other form names a KME's path.
        const raw = req.url ?? '';
        if (!raw.startsWith('/') || raw.startsWith('//')) return etsiError(res, 400, 'the request target must be a path');
        let path: string;
        try {
          path = new URL(raw, 'http://proxy').pathname;
        } catch {
          return etsiError(res, 400, 'the request target is not a path');
        }
        const work = path === LEDGER_PREFIX || path.startsWith(`${LEDGER_PREFIX}/`) ? ledgerRoute(req, res, path) : forward(req, res, origin, raw);
        work.catch(() => {
          if (!res.headersSent) etsiError(res, 400, 'the request could not be read');
          else res.destroy();
        });
      });
      // What Node's parser refuses (a bad request line, huge headers, no Host) gets an ETSI Error body too.
      answerProtocolErrorsAsJson(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, host, () => resolve());
      });
      servers.push(server);
      const port = (server.address() as AddressInfo).port;
      kmes.push({ id: target.id, url: `http://${host.includes(':') ? `[${host}]` : host}:${port}` });
    }
  } catch (error) {
    await close();
    throw error;
  }
  return {
    kmes,
    ledger: `${kmes[0]?.url}${LEDGER_PREFIX}`,
    verdict,
    exchanges: () => recorder.exchanges(),
    reset: (seed) => void reset(seed),
    close,
  };
}

/** What a refused body got wrong, by field: ` (keyIds: …; extra: unknown field)`. */
function named(error: z.ZodError): string {
  const parts = error.issues.slice(0, 3).map((issue) => {
    const where = issue.path.length === 0 ? 'body' : issue.path.slice(0, 2).map(String).join('.');
    return issue.code === 'unrecognized_keys' ? `unknown field(s) ${issue.keys.join(', ')}` : `${where}: ${issue.message}`;
  });
  return parts.length === 0 ? '' : ` (${parts.join('; ')})`;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** An ETSI Error body, as the KMEs answer. */
function etsiError(res: ServerResponse, status: number, message: string): void {
  json(res, status, { message });
}

async function readBody(req: IncomingMessage, res: ServerResponse): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  // Past the bound the rest is read and dropped, so that the answer reaches a client still sending.
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size <= MAX_BODY_BYTES) chunks.push(chunk as Buffer);
  }
  if (size > MAX_BODY_BYTES) {
    etsiError(res, 413, `the request body is larger than ${MAX_BODY_BYTES} bytes`);
    return undefined;
  }
  return Buffer.concat(chunks);
}

/** The body as JSON (undefined after answering 400 for text that is not); an empty body reads as null. */
async function readJson(req: IncomingMessage, res: ServerResponse): Promise<unknown> {
  const raw = await readBody(req, res);
  if (raw === undefined) return undefined;
  if (raw.length === 0) return null;
  try {
    return JSON.parse(raw.toString('utf8')) as unknown;
  } catch {
    etsiError(res, 400, 'the body is not JSON');
    return undefined;
  }
}
