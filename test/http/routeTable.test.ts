// The route table (src/http/routeTable.ts) is the one declaration of the HTTP surface; the Express app,
// the ETSI fast path and the OpenAPI document are derived from it and must agree with it, for every
// combination of its switches (the per-user-pool profile's routes, the admin API):
// - Express registers exactly the table's operations on its routes, a 405 for every other method, and
//   refuses HEAD where the table says so; a method no route on the path takes gets 405 with the table's
//   methods as Allow.
// - The fast path takes a plain request exactly when the table marks its operation fast and no other
//   route the app serves could match the path, and answers it as the app does; everything else falls
//   back to the app.
// - The OpenAPI document lists exactly the table's routes with their methods, and the served one exactly
//   the routes that KME serves.
import { createServer, request, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, expect, it } from 'vitest';
import type { Express } from 'express';
import { createApp, routeContext, type AppOptions } from '../../src/http/createApp.js';
import { createEtsiFastPath, fastRoutes } from '../../src/http/etsiFastPath.js';
import { createHostClock } from '../../src/http/hostClock.js';
import { createKmeHost } from '../../src/http/kmeHost.js';
import { RESERVED_SAE_IDS } from '../../src/model/profiles.js';
import { expressPath, operationsOf, pathPattern } from '../../src/http/routePaths.js';
import { buildOpenApiDocument, enabledRoutes, ROUTE_TABLE } from '../../src/http/routeTable.js';
import type { RouteDef, RouteSwitches } from '../../src/http/routeTypes.js';
import { resolveProfile } from '../../src/model/profiles.js';
import { createWorld } from '../../src/model/world.js';
import { createRequestJournal } from '../../src/http/requestJournal.js';

const SETUPS = [
  { profile: 'strict', admin: false },
  { profile: 'strict', admin: true },
  { profile: 'per-user-pool', admin: false },
  { profile: 'per-user-pool', admin: true },
] as const;

type Setup = (typeof SETUPS)[number];

const switchesOf = (setup: Setup): RouteSwitches => ({ poolRoutes: setup.profile === 'per-user-pool', admin: setup.admin });
const describe = (setup: Setup): string => `${setup.profile}${setup.admin ? ' with the admin API' : ''}`;

/** `METHOD path` for every operation of these routes. */
function operations(routes: readonly RouteDef[], notation: (path: string) => string = (path) => path): string[] {
  return routes.flatMap((route) => operationsOf(route).map(([method]) => `${method} ${notation(route.path)}`)).sort();
}

function appOptions(setup: Setup): AppOptions {
  const world = createWorld({ seed: 'route-table', profile: resolveProfile(setup.profile), kmeIds: ['KME_A', 'KME_B'] });
  const host = createKmeHost({ world, clock: createHostClock('manual') });
  for (const [saeId, kmeId] of [['SAE_A1', 'KME_A'], ['SAE_A2', 'KME_A'], ['SAE_B1', 'KME_B']] as const) host.execute({ type: 'sae.register', saeId, kmeId });
  const admin = setup.admin ? { host, token: 'token', kmeIds: ['KME_A', 'KME_B'], reset: () => 0, requests: createRequestJournal() } : null;
  return { host, kmeId: 'KME_A', auth: { kind: 'header', header: 'X-SAE-ID' }, admin, onBug: (error) => bugs.push(error) };
}

interface Layer {
  readonly route?: { readonly path: string; readonly methods: Readonly<Record<string, boolean>> };
  readonly handle?: { readonly stack?: readonly Layer[] };
}

/** The routes Express registered: `METHOD path` for each explicit method, `_all` and `head` apart. */
function registered(app: Express): { explicit: string[]; all: string[]; head: string[] } {
  const found = { explicit: [] as string[], all: [] as string[], head: [] as string[] };
  const walk = (stack: readonly Layer[]): void => {
    for (const layer of stack) {
      if (layer.handle?.stack !== undefined) walk(layer.handle.stack);
      if (layer.route === undefined) continue;
      for (const [method, on] of Object.entries(layer.route.methods)) {
        if (!on) continue;
        if (method === '_all') found.all.push(layer.route.path);
        else if (method === 'head') found.head.push(layer.route.path);
        else found.explicit.push(`${method.toUpperCase()} ${layer.route.path}`);
      }
    }
  };
  walk((app as unknown as { router: { stack: readonly Layer[] } }).router.stack);
  return { explicit: found.explicit.sort(), all: found.all.sort(), head: found.head.sort() };
}

for (const setup of SETUPS) {
  it(`${describe(setup)}: Express registers exactly the table's operations, a 405 for the rest of each path, and HEAD refusals`, () => {
    const routes = enabledRoutes(switchesOf(setup));
    const { explicit, all, head } = registered(createApp(appOptions(setup)));
    expect(explicit).toEqual(operations(routes, expressPath));
    expect(all).toEqual(routes.map((route) => expressPath(route.path)).sort());
    expect(head).toEqual(routes.filter((route) => route.refuseHead === true).map((route) => expressPath(route.path)).sort());
    expect(routes.length).toBeLessThanOrEqual(ROUTE_TABLE.length);
  });

  it(`${describe(setup)}: the OpenAPI document, built and served, lists exactly the table's routes with their methods`, async () => {
    const routes = enabledRoutes(switchesOf(setup));
    const document = buildOpenApiDocument(switchesOf(setup)) as { paths: Record<string, Record<string, unknown>> };
    const documented = Object.entries(document.paths).flatMap(([path, methods]) => Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`));
    expect(documented.sort()).toEqual(operations(routes));
    const base = await listen(createApp(appOptions(setup)));
    const served = await send(base, { method: 'GET', path: '/openapi.json' });
    expect(served.status).toBe(200);
    expect(JSON.parse(served.text)).toEqual(document);
  });
}

it('the OpenAPI document of the whole table lists every route of it', () => {
  const document = buildOpenApiDocument() as { paths: Record<string, Record<string, unknown>> };
  expect(Object.keys(document.paths)).toEqual(ROUTE_TABLE.map((route) => route.path));
});

it('the fast path claims exactly the operations the table marks fast', () => {
  for (const setup of SETUPS) {
    const claimed = fastRoutes(enabledRoutes(switchesOf(setup))).flatMap((route) => [...route.operations.values()]);
    const marked = enabledRoutes(switchesOf(setup)).flatMap((route) => operationsOf(route).flatMap(([, operation]) => (operation.fast === true ? [operation] : [])));
    expect(claimed).toEqual(marked);
  }
});

it('the reserved SAE names are the literal segments of the per-user-pool routes where others have an SAE ID', () => {
  const pools = ROUTE_TABLE.filter((route) => route.enabledBy === 'poolRoutes').map((route) => route.path.split('/'));
  const at = 4;
  expect(pools.some((segments) => segments[at] === '{SAE_ID}')).toBe(true);
  const literals = new Set(pools.flatMap((segments) => (segments[at] === undefined || segments[at].startsWith('{') ? [] : [segments[at]])));
  expect([...literals].sort()).toEqual([...RESERVED_SAE_IDS].sort());
});

const servers: Server[] = [];
const bugs: unknown[] = [];
const taken: string[] = [];

afterEach(async () => {
  expect(bugs.splice(0)).toEqual([]);
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

async function listen(listener: RequestListener): Promise<string> {
  const server = createServer(listener);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** The fast path in front of the app, as createRequestListener composes them, noting what it takes. */
function fastThenApp(options: AppOptions): RequestListener {
  const app = createApp(options);
  const fastPath = createEtsiFastPath({ ctx: routeContext(options), bodyLimitBytes: 256 * 1024, onBug: (error) => bugs.push(error) });
  return (req, res) => {
    if (fastPath(req, res)) taken.push(`${req.method ?? ''} ${req.url ?? ''}`);
    else app(req, res);
  };
}

interface Answer {
  readonly status: number;
  readonly allow: string | undefined;
  readonly contentType: string | undefined;
  readonly text: string;
}

function send(base: string, raw: { readonly method: string; readonly path: string; readonly body?: string }): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { 'X-SAE-ID': 'SAE_A1' };
    if (raw.body !== undefined) Object.assign(headers, { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(raw.body)) });
    const req = request(`${base}${raw.path}`, { method: raw.method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, allow: res.headers['allow'], contentType: res.headers['content-type'], text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(raw.body);
  });
}

const METHODS = ['GET', 'POST', 'DELETE', 'PUT', 'HEAD'] as const;

/** Whether a route answers this method itself: one of its operations, or HEAD by its GET where not refused. */
function takes(route: RouteDef, method: string): boolean {
  if (method === 'HEAD') return route.methods.GET !== undefined && route.refuseHead !== true;
  return operationsOf(route).some(([own]) => own === method);
}

for (const setup of SETUPS) {
  it(`${describe(setup)}: every method on every route is taken by the fast path exactly when the table marks it fast, and answered as the app does`, async () => {
    taken.length = 0;
    const fast = await listen(fastThenApp(appOptions(setup)));
    const app = await listen(createApp(appOptions(setup)));
    const routes = enabledRoutes(switchesOf(setup));
    for (const route of routes) {
      const allow = operationsOf(route).map(([method]) => method);
      const path = route.path.replace(/\{\w+\}/g, 'SAE_A2');
      for (const method of METHODS) {
        const raw = { method, path, ...(method === 'POST' ? { body: '{}' } : {}) };
        const before = taken.length;
        const answer = await send(fast, raw);
        expect(answer, `${method} ${path}`).toEqual(await send(app, raw));
        const operation = route.methods[method as keyof RouteDef['methods']];
        expect(taken.length - before, `${method} ${path} taken by the fast path`).toBe(operation?.fast === true ? 1 : 0);
        // Served by this route, or by another whose path matches too (DELETE /api/v1/keys/{SAE_ID} on /api/v1/keys/register).
        const served = routes.some((other) => pathPattern(other.path, true).test(path) && takes(other, method));
        if (!served) {
          expect(answer.status, `${method} ${path}`).toBe(405);
          expect(answer.allow, `${method} ${path}`).toBe(allow.join(', '));
        } else {
          expect([404, 405], `${method} ${path}: ${answer.text}`).not.toContain(answer.status);
        }
        expect(answer.contentType, `${method} ${path}`).toMatch(/^application\/(json|x-ndjson); charset=utf-8$/);
      }
    }
    // A path an extension route shares with an ETSI route is the app's whenever that route is served.
    for (const path of ['/api/v1/keys/km/status', '/api/v1/keys/KM/status']) {
      const before = taken.length;
      expect(await send(fast, { method: 'GET', path })).toEqual(await send(app, { method: 'GET', path }));
      expect(taken.length - before, path).toBe(setup.profile === 'per-user-pool' ? 0 : 1);
    }
  });
}
