// Every route a KME app answers, read from the Express router itself (so a route added later is called too),
// and the OpenAPI document's paths in the same notation, to check the two agree.
import type { Express } from 'express';

export interface RouteSpec {
  /** Upper case; routes registered for every method appear once per method in ALL_METHODS. */
  readonly method: string;
  /** Express notation: `/api/v1/keys/:slave/status`. */
  readonly path: string;
}

/** The methods a catch-all route (router.all) is called with: those no explicit route has taken. */
export const ALL_METHODS = ['PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

interface Layer {
  readonly route?: { readonly path: string | readonly string[]; readonly methods: Readonly<Record<string, boolean>> };
  readonly handle?: { readonly stack?: readonly Layer[] };
}

export function listRoutes(app: Express): RouteSpec[] {
  const routes = new Map<string, RouteSpec>();
  const walk = (stack: readonly Layer[]): void => {
    for (const layer of stack) {
      if (layer.route !== undefined) {
        const paths = typeof layer.route.path === 'string' ? [layer.route.path] : layer.route.path;
        for (const path of paths) {
          for (const [method, on] of Object.entries(layer.route.methods)) {
            if (!on) continue;
            for (const upper of method === '_all' ? ALL_METHODS : [method.toUpperCase()]) routes.set(`${upper} ${path}`, { method: upper, path });
          }
        }
      } else if (layer.handle?.stack !== undefined) {
        walk(layer.handle.stack);
      }
    }
  };
  walk((app as unknown as { router: { stack: readonly Layer[] } }).router.stack);
  return [...routes.values()];
}

/** `/api/v1/keys/{slave_SAE_ID}/status` → `/api/v1/keys/:slave_SAE_ID/status`, as the app derives its paths from the route table. */
export function openApiRoutes(document: { readonly paths: Readonly<Record<string, Readonly<Record<string, unknown>>>> }): RouteSpec[] {
  return Object.entries(document.paths).flatMap(([path, operations]) =>
    Object.keys(operations)
      .filter((method) => ['get', 'post', 'put', 'patch', 'delete', 'head', 'options'].includes(method))
      .map((method) => ({ method: method.toUpperCase(), path: path.replace(/\{(\w+)\}/g, ':$1') })),
  );
}

export function parametersOf(path: string): string[] {
  return [...path.matchAll(/:(\w+)/g)].map((match) => match[1] as string);
}

export function fillPath(path: string, value: string): string {
  return path.replace(/:\w+/g, encodeURIComponent(value));
}
