// The admin API's faults, in the engine's one fault schema (src/engine/faults.ts), the same a scenario file
// lists: POST one fault or a list of them, with times counted from the moment of the request (`from: 0`,
// the default, is now; without `to` a fault lasts until DELETE). The host plays each start and end on its
// queue, so a fault due now has happened before the answer, and one due later happens at its time even
// under a manual clock (when an advance passes it). The earlier shorthand ({"remote": "offline"},
// {"latencyMs": 200}, {"restart": {"kme": "KME_A"}}, …) is still taken: it is read as the engine's
// fault it names, started (or, for "online" and 0, ended) now.
import { z } from 'zod';
import { shortId } from '../model/kmeError.js';
import { describeTransport, faultEdges, faultProblem, faultSchema, type Fault, type FaultEdge } from '../engine/faults.js';
import type { RouteHandler } from './routeTypes.js';

const shorthandSchema = z.strictObject({
  remote: z.enum(['online', 'offline']).optional(),
  link: z.strictObject({ id: z.string(), remote: z.enum(['online', 'offline']) }).optional(),
  latencyMs: z.number().int().min(0).max(60_000).optional(),
  failNext: z.strictObject({ count: z.number().int().min(0).max(1_000_000), status: z.number().int().min(400).max(599) }).optional(),
  restart: z.strictObject({ kme: z.string(), downtimeMs: z.number().int().min(0).max(3_600_000).default(0) }).optional(),
});

/** What POST /_kmesim/faults takes (for the route table and the OpenAPI document). */
export const adminFaultBodySchema = z.union([faultSchema, z.array(faultSchema).min(1).max(100), shorthandSchema]);

interface Edge {
  readonly fault: Fault;
  /** Only this edge, now; when absent, every edge of the fault at its time from now. */
  readonly only?: FaultEdge;
}

/** The shorthand as the engine's faults: what it starts, or ends, now. */
function edgesOfShorthand(body: z.output<typeof shorthandSchema>): Edge[] {
  const edges: Edge[] = [];
  const edge = (on: boolean): FaultEdge => (on ? 'start' : 'end');
  if (body.remote !== undefined) edges.push({ fault: { type: 'remote-offline', from: 0 }, only: edge(body.remote === 'offline') });
  if (body.link !== undefined) edges.push({ fault: { type: 'link-down', from: 0, link: body.link.id }, only: edge(body.link.remote === 'offline') });
  // `latencyMs` sets the transport's latency: whatever latency was in force ends, then this one starts (0: none).
  if (body.latencyMs !== undefined) {
    edges.push({ fault: { type: 'latency', from: 0, ms: 0 }, only: 'end' });
    if (body.latencyMs > 0) edges.push({ fault: { type: 'latency', from: 0, ms: body.latencyMs }, only: 'start' });
  }
  if (body.failNext !== undefined) edges.push({ fault: { type: 'fail-next', at: 0, count: body.failNext.count, status: body.failNext.status }, only: 'start' });
  if (body.restart !== undefined) edges.push({ fault: { type: 'kme-restart', at: 0, kme: body.restart.kme, downtime: body.restart.downtimeMs }, only: 'start' });
  return edges;
}

type Parsed = { readonly ok: true; readonly edges: Edge[] } | { readonly ok: false; readonly issues: Array<Record<string, unknown>> };

const faultListSchema = z.array(faultSchema).min(1).max(100);

function parseFaults(body: unknown): Parsed {
  const issuesOf = (error: z.ZodError): Array<Record<string, unknown>> => error.issues.map((issue) => ({ parameter: issue.path.join('.'), error: issue.message }));
  // A list, or one fault of the schema (it has a type); anything else is read as the shorthand.
  if (Array.isArray(body)) {
    const parsed = faultListSchema.safeParse(body);
    return parsed.success ? { ok: true, edges: parsed.data.map((fault) => ({ fault })) } : { ok: false, issues: issuesOf(parsed.error) };
  }
  if (typeof body === 'object' && body !== null && 'type' in body) {
    const parsed = faultSchema.safeParse(body);
    return parsed.success ? { ok: true, edges: [{ fault: parsed.data }] } : { ok: false, issues: issuesOf(parsed.error) };
  }
  const parsed = shorthandSchema.safeParse(body);
  return parsed.success ? { ok: true, edges: edgesOfShorthand(parsed.data) } : { ok: false, issues: issuesOf(parsed.error) };
}

export const applyFault: RouteHandler = (ctx, call, reply) => {
  const { host } = ctx;
  const parsed = parseFaults(call.body);
  if (!parsed.ok) return reply.badRequest('bad fault (see the fault schema in /openapi.json)', parsed.issues);
  const kmeIds = ctx.admin?.kmeIds ?? [];
  const linkIds = new Set(host.world.links.keys());
  // Every fault is checked before any is played: a list is taken whole or not at all.
  for (const { fault } of parsed.edges) {
    const problem = faultProblem(fault, kmeIds, linkIds);
    if (problem !== null) return reply.badRequest(problem);
    // A fault for a caller that is not there could never fire.
    if ((fault.type === 'latency' || fault.type === 'fail-next') && fault.sae !== undefined && !host.world.saes.has(fault.sae)) {
      return reply.badRequest(`no SAE ${shortId(fault.sae)} (the fault's sae names the caller it is for)`);
    }
  }
  host.tick();
  const nowMs = host.world.nowMs;
  for (const { fault, only } of parsed.edges) host.playFault(fault, nowMs, only);
  host.tick();
  ctx.logger.info({ faults: parsed.edges.length }, 'admin.fault.applied');
  return reply.json(200, { applied: call.body, faults: parsed.edges.map(({ fault, only }) => ({ fault, edges: only === undefined ? faultEdges(fault).map(({ atMs, edge }) => ({ edge, atMs: nowMs + atMs })) : [{ edge: only, atMs: nowMs }] })) });
};

/** GET: the faults in force and planned, with the transport's state now. */
export const listFaults: RouteHandler = (ctx, _call, reply) => {
  const { host } = ctx;
  host.tick();
  const nowMs = host.world.nowMs;
  const { faults } = host;
  reply.json(200, {
    nowMs,
    faults: host.plannedFaults().map(({ fault, originMs }) => {
      const edges = faultEdges(fault).map(({ atMs, edge }) => ({ edge, atMs: originMs + atMs }));
      const end = edges.find((edge) => edge.edge === 'end');
      const started = (edges[0]?.atMs ?? 0) <= nowMs;
      // A fault with a start and an end is in force between them (an open one, from its start on); a
      // one-off (a restart, failing the next calls) has been played once it started.
      const lasting = 'from' in fault && (end === undefined || end.atMs > nowMs);
      return { fault, edges, state: !started ? 'planned' : lasting ? 'in force' : 'played' };
    }),
    transport: describeTransport(faults),
  });
};

/** DELETE: every fault ends now and planned ones are dropped. */
export const clearFaults: RouteHandler = (ctx, _call, reply) => {
  ctx.host.healFaults();
  ctx.logger.info('admin.faults.cleared');
  reply.json(200, { cleared: true, nowMs: ctx.host.world.nowMs });
};
