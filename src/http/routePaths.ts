// A route's path template (`/api/v1/keys/{slave_SAE_ID}/status`, as OpenAPI writes it) in the forms each
// consumer needs: Express's notation, a matcher for raw request paths, and whether two templates can match
// the same path.
import type { HttpMethod, Operation, RouteDef } from './routeTypes.js';

const PARAMETER = /^\{(\w+)\}$/;

function segments(template: string): string[] {
  return template.split('/');
}

function parameterOf(segment: string): string | null {
  return PARAMETER.exec(segment)?.[1] ?? null;
}

/** The parameter names of a template, in order. */
export function pathParameters(template: string): string[] {
  return segments(template).flatMap((segment) => parameterOf(segment) ?? []);
}

/** `/api/v1/keys/{slave_SAE_ID}/status` → `/api/v1/keys/:slave_SAE_ID/status`. */
export function expressPath(template: string): string {
  return segments(template)
    .map((segment) => {
      const name = parameterOf(segment);
      return name === null ? segment : `:${name}`;
    })
    .join('/');
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * A matcher for raw (undecoded) request paths: each parameter one non-empty segment, captured in order.
 * `ignoreCase` matches literals as Express does (case-insensitively); without it, only as written.
 */
export function pathPattern(template: string, ignoreCase: boolean): RegExp {
  const source = segments(template)
    .map((segment) => (parameterOf(segment) === null ? escapeRegExp(segment) : '([^/]+)'))
    .join('/');
  return new RegExp(`^${source}$`, ignoreCase ? 'i' : '');
}

/** Whether some path matches both templates: as many segments, and no two literals that differ. */
export function templatesOverlap(a: string, b: string): boolean {
  const left = segments(a);
  const right = segments(b);
  return (
    left.length === right.length &&
    left.every((segment, i) => {
      const other = right[i] as string;
      return parameterOf(segment) !== null || parameterOf(other) !== null || segment.toLowerCase() === other.toLowerCase();
    })
  );
}

/** The literal text before a template's first parameter. */
export function literalPrefix(template: string): string {
  const at = template.indexOf('{');
  return at < 0 ? template : template.slice(0, at);
}

/** A route's operations with their methods, in the order the route lists them (its Allow header's). */
export function operationsOf(route: RouteDef): Array<readonly [HttpMethod, Operation]> {
  return (Object.keys(route.methods) as HttpMethod[]).flatMap((method) => {
    const operation = route.methods[method];
    return operation === undefined ? [] : [[method, operation] as const];
  });
}
