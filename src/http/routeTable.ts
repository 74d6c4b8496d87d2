// Every route of a KME, declared once: its path, its methods, what switches it on, and for each operation
// its handler, request schema and OpenAPI description. The Express app (createApp.ts), the ETSI fast
// path's matcher (etsiFastPath.ts) and the OpenAPI document (openApi.ts) are all derived from this table.
// Order matters as it does in Express: a route with a literal segment comes before one with a parameter
// in its place (`/api/v1/keys/km/status` before `/api/v1/keys/{slave_SAE_ID}/status`).
import { z } from 'zod';
import { keyContainerSchema, keyIdsSchema, keyRequestSchema, statusSchema } from '../model/wireSchema.js';
import { adminFaultBodySchema, applyFault, clearFaults, listFaults } from './adminFaults.js';
import { adminGuard, adminIndex, adminInvariants, adminState, adminTrace, advanceClock, clearRequests, clockAdvanceSchema, listRequests, resetSchema, resetWorld } from './adminRoutes.js';
import { getDecKeys, getEncKeys, getStatus, postDecKeys, postEncKeys } from './etsiRoutes.js';
import type { KmeHost } from './kmeHost.js';
import { openApiDocumentOf } from './openApi.js';
import { deleteSae, kmStatus, kmSync, listPools, refill, refillSchema, register, registerSchema } from './poolRoutes.js';
import type { AdminOptions, Operation, RouteDef, RouteGuard, RouteSwitch, RouteSwitches, RouteTag } from './routeTypes.js';

const healthSchema = z.object({ status: z.literal('ok'), kme_id: z.string() });

const SERVICE: RouteTag = { name: 'service', description: 'Health and this document' };
const ADMIN: RouteTag = { name: 'admin', description: "The mock's controls: from loopback, or with Authorization: Bearer <admin token>" };
const POOLS: RouteTag = { name: 'per-user-pool', description: "The per-user-pool design's extension routes (profile switch poolRoutes)" };
const ETSI: RouteTag = { name: 'ETSI GS QKD 014', description: 'Key delivery (ETSI GS QKD 014 V1.1.1)' };
const ETSI_ERRORS = [400, 401, 503] as const;
const KEY_CONTAINER = { description: 'Key container', schema: keyContainerSchema };

function json(description: string): Operation['ok'] {
  return { description };
}

export const ROUTE_TABLE: readonly RouteDef[] = [
  {
    path: '/health',
    tag: SERVICE,
    enabledBy: null,
    methods: { GET: { summary: 'Health', handler: (ctx, _call, reply) => reply.json(200, { status: 'ok', kme_id: ctx.kmeId }), ok: { description: 'Serving', schema: healthSchema }, errors: [] } },
  },
  {
    path: '/openapi.json',
    tag: SERVICE,
    enabledBy: null,
    methods: { GET: { summary: 'This document', handler: (ctx, _call, reply) => reply.json(200, openApiDocumentOf(ctx.routes)), ok: json('The OpenAPI document of the routes this KME serves'), errors: [] } },
  },

  // The admin API (adminRoutes.ts): the mock's controls, behind its guard (ROUTE_GUARDS).
  { path: '/_kmesim', tag: ADMIN, enabledBy: 'admin', methods: { GET: { summary: 'What the admin API offers', handler: adminIndex, ok: json('The KMEs and every admin operation'), errors: [401] } } },
  { path: '/_kmesim/state', tag: ADMIN, enabledBy: 'admin', methods: { GET: { summary: 'World state', handler: adminState, ok: json('Clock, SAEs, links, pools and faults'), errors: [401] } } },
  {
    path: '/_kmesim/clock/advance',
    tag: ADMIN,
    enabledBy: 'admin',
    methods: { POST: { summary: 'Advance the manual clock', handler: advanceClock, body: { schema: clockAdvanceSchema, required: true }, ok: json('The new time'), errors: [400, 401] } },
  },
  {
    path: '/_kmesim/faults',
    tag: ADMIN,
    enabledBy: 'admin',
    methods: {
      GET: { summary: 'Faults in force and planned', handler: listFaults, ok: json('Each fault with its edges on the host clock, and the transport now'), errors: [401] },
      POST: { summary: 'Play a fault (or a list) of the scenario fault schema, times from now', handler: applyFault, body: { schema: adminFaultBodySchema, required: true }, ok: json('The faults and when their edges run'), errors: [400, 401] },
      DELETE: { summary: 'End every fault now', handler: clearFaults, ok: json('Cleared'), errors: [401] },
    },
  },
  {
    path: '/_kmesim/reset',
    tag: ADMIN,
    enabledBy: 'admin',
    methods: { POST: { summary: 'Start a fresh world (at the same seed unless one is given)', handler: resetWorld, body: { schema: resetSchema, required: false }, ok: json('The seed'), errors: [400, 401] } },
  },
  {
    path: '/_kmesim/requests',
    tag: ADMIN,
    enabledBy: 'admin',
    methods: {
      GET: { summary: 'ETSI requests answered, oldest first (filters: sae, route, kme, since); key IDs, never bytes', handler: listRequests, ok: json('The requests, and how many the bound dropped'), errors: [400, 401] },
      DELETE: { summary: 'Forget the requests recorded so far', handler: clearRequests, ok: json('Cleared'), errors: [401] },
    },
  },
  {
    path: '/_kmesim/trace',
    tag: ADMIN,
    enabledBy: 'admin',
    methods: { GET: { summary: 'Trace', handler: adminTrace, ok: { description: 'One JSON line per exchange', mediaType: 'application/x-ndjson' }, errors: [401] } },
  },
  { path: '/_kmesim/invariants', tag: ADMIN, enabledBy: 'admin', methods: { GET: { summary: 'Invariants', handler: adminInvariants, ok: json('Each invariant and its violations'), errors: [401] } } },

  // The per-user-pool design's extension routes (poolRoutes.ts); literal names before `{SAE_ID}`.
  {
    path: '/api/v1/keys/register',
    tag: POOLS,
    enabledBy: 'poolRoutes',
    methods: { POST: { summary: 'Register an SAE', handler: register, body: { schema: registerSchema, required: true }, ok: json('The SAE and its pools'), errors: [400] } },
  },
  { path: '/api/v1/keys/pools', tag: POOLS, enabledBy: 'poolRoutes', methods: { GET: { summary: 'Pools of this KME', handler: listPools, ok: json('Pools'), errors: [] } } },
  { path: '/api/v1/keys/km/status', tag: POOLS, enabledBy: 'poolRoutes', methods: { GET: { summary: 'Key manager status', handler: kmStatus, ok: json('Links and pool levels'), errors: [] } } },
  { path: '/api/v1/keys/km/sync', tag: POOLS, enabledBy: 'poolRoutes', methods: { POST: { summary: 'Sync every pool', handler: kmSync, ok: json('Syncs started'), errors: [401] } } },
  {
    path: '/api/v1/keys/{SAE_ID}/refill',
    tag: POOLS,
    enabledBy: 'poolRoutes',
    methods: { POST: { summary: 'Refill the pools of an SAE', handler: refill, body: { schema: refillSchema, required: false }, ok: json('Syncs started'), errors: [400, 401] } },
  },
  { path: '/api/v1/keys/{SAE_ID}', tag: POOLS, enabledBy: 'poolRoutes', methods: { DELETE: { summary: 'Delete an SAE', handler: deleteSae, ok: json('Deleted'), errors: [400, 401] } } },

  // The ETSI GS QKD 014 routes (etsiRoutes.ts), also served by the fast path.
  {
    path: '/api/v1/keys/{slave_SAE_ID}/status',
    tag: ETSI,
    enabledBy: null,
    methods: { GET: { summary: 'Get status', handler: getStatus, fast: true, ok: { description: 'Status', schema: statusSchema }, errors: ETSI_ERRORS } },
  },
  {
    path: '/api/v1/keys/{slave_SAE_ID}/enc_keys',
    tag: ETSI,
    enabledBy: null,
    refuseHead: true,
    methods: {
      GET: {
        summary: 'Get key',
        handler: getEncKeys,
        fast: true,
        query: [
          { name: 'number', type: 'integer' },
          { name: 'size', type: 'integer' },
        ],
        ok: KEY_CONTAINER,
        errors: ETSI_ERRORS,
      },
      POST: { summary: 'Get key', handler: postEncKeys, fast: true, body: { schema: keyRequestSchema, required: false }, ok: KEY_CONTAINER, errors: ETSI_ERRORS },
    },
  },
  {
    path: '/api/v1/keys/{master_SAE_ID}/dec_keys',
    tag: ETSI,
    enabledBy: null,
    refuseHead: true,
    methods: {
      GET: { summary: 'Get key with key IDs', handler: getDecKeys, fast: true, query: [{ name: 'key_ID', type: 'string', required: true }], ok: KEY_CONTAINER, errors: ETSI_ERRORS },
      POST: { summary: 'Get key with key IDs', handler: postDecKeys, fast: true, body: { schema: keyIdsSchema, required: true }, ok: KEY_CONTAINER, errors: ETSI_ERRORS },
    },
  },
];

/** Guards in front of every path under a prefix, whether or not a route of the table matches it. */
export const ROUTE_GUARDS: readonly RouteGuard[] = [{ prefix: '/_kmesim', enabledBy: 'admin', admit: adminGuard }];

export const ALL_SWITCHES: RouteSwitches = { poolRoutes: true, admin: true };

/** The switches of one KME's app: its profile's, and whether it has the admin API. */
export function switchesOf(host: KmeHost, admin: AdminOptions | null): RouteSwitches {
  const { profile } = host.world.config;
  return { poolRoutes: profile.poolRoutes, admin: admin !== null, keyPrefixes: profile.extraKeyPrefixes };
}

const KEYS_PREFIX = '/api/v1/keys';

/** The key routes served again under another prefix (`/api/v1/user-keys/{SAE_ID}/enc_keys`, …). */
function underPrefix(routes: readonly RouteDef[], prefix: string): RouteDef[] {
  return routes.filter((route) => route.path.startsWith(`${KEYS_PREFIX}/`)).map((route) => ({ ...route, path: `${prefix}${route.path.slice(KEYS_PREFIX.length)}` }));
}

export function isEnabled(on: RouteSwitches, enabledBy: RouteSwitch | null): boolean {
  return enabledBy === null || on[enabledBy];
}

const enabled = new Map<string, readonly RouteDef[]>();

/** The routes the switches turn on, in table order (then again under each extra key prefix); the same array for the same switches. */
export function enabledRoutes(on: RouteSwitches): readonly RouteDef[] {
  const prefixes = on.keyPrefixes ?? [];
  const key = `${on.poolRoutes}/${on.admin}/${prefixes.join(' ')}`;
  let routes = enabled.get(key);
  if (routes === undefined) {
    const base = ROUTE_TABLE.filter((route) => isEnabled(on, route.enabledBy));
    routes = [...base, ...prefixes.flatMap((prefix) => underPrefix(base, prefix))];
    enabled.set(key, routes);
  }
  return routes;
}

/** The OpenAPI 3.1 document of the routes the switches turn on (by default, of the whole table). */
export function buildOpenApiDocument(on: RouteSwitches = ALL_SWITCHES): Record<string, unknown> {
  return openApiDocumentOf(enabledRoutes(on));
}
