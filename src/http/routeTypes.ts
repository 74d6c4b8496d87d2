// The shapes of the route table (routeTable.ts): a route, its operations, and the handler each operation
// runs, which sees a request the same way whichever of the server's paths (Express or the ETSI fast path)
// received it.
import type { IncomingMessage } from 'node:http';
import type { z } from 'zod';
import type { KmeError } from '../model/kmeError.js';
import type { TransportError } from './errorTable.js';
import type { AuthMode } from './identity.js';
import type { KmeHost } from './kmeHost.js';
import type { Logger } from './logging.js';
import type { RequestJournal } from './requestJournal.js';

export interface AdminOptions {
  readonly host: KmeHost;
  /** Required (as `Authorization: Bearer …`) for callers that are not on loopback. */
  readonly token: string;
  readonly kmeIds: readonly string[];
  /** Starts the world over at this seed (default: the seed it runs with now). */
  readonly reset: (seed?: number) => number;
  /** Every ETSI request answered, for a client's test to verify (GET /_kmesim/requests). */
  readonly requests: RequestJournal;
}

/** What every handler of one KME's app works with. */
export interface RouteContext {
  readonly host: KmeHost;
  readonly kmeId: string;
  readonly auth: AuthMode;
  /** The admin API's options; null when it is left out (its routes are then not served). */
  readonly admin: AdminOptions | null;
  readonly logger: Logger;
  /** The routes this app serves, in table order (what its OpenAPI document lists). */
  readonly routes: readonly RouteDef[];
}

/** One request as a handler sees it. */
export interface RouteCall {
  /** As received: HEAD when a GET route answers a HEAD. */
  readonly method: string;
  /** The decoded path parameters, by their names in the route's path. */
  readonly params: Readonly<Record<string, string | undefined>>;
  /** The query string as the `simple` (node:querystring) parser reads it. */
  readonly query: Readonly<Record<string, unknown>>;
  /** The parsed JSON body, or undefined when none was parsed. */
  readonly body: unknown;
  /** Whether the request announced a body: a Content-Length above 0 or a Transfer-Encoding. */
  readonly hasBody: boolean;
  /** For the caller's identity: its headers, and its socket under mTLS or for the admin guard. */
  readonly req: IncomingMessage;
}

/** How a handler answers (httpErrors.ts writes it). */
export interface Reply {
  json(status: number, body: unknown): void;
  /** An error, with its status, message and headers from the error tables (errorTable.ts). */
  error(error: KmeError | TransportError): void;
  /** 400 for a request this route cannot read, with the route's own message. */
  badRequest(message: string, details?: ReadonlyArray<Record<string, unknown>>): void;
  /** An answer that is not JSON. */
  text(status: number, contentType: string, text: string): void;
  /**
   * Lines written out as they go (the admin trace), in chunks, each after the client took the one before:
   * a large answer neither builds one string nor keeps other requests waiting.
   */
  lines(status: number, contentType: string, lines: readonly string[]): void;
}

/** Answers one request; a rejection is the server's bug (answered 500). */
export type RouteHandler = (ctx: RouteContext, call: RouteCall, reply: Reply) => void | Promise<void>;

export type HttpMethod = 'GET' | 'POST' | 'DELETE';

/** What switches a route on: a profile switch, or the admin API's presence. Routes with none are always served. */
export type RouteSwitch = 'poolRoutes' | 'admin';
export type RouteSwitches = Readonly<Record<RouteSwitch, boolean>> & {
  /** Prefixes that serve the key routes (ETSI and per-user-pool) again, besides `/api/v1/keys` (a profile's `extraKeyPrefixes`). */
  readonly keyPrefixes?: readonly string[];
};

export interface QueryParameter {
  readonly name: string;
  readonly type: 'integer' | 'string';
  readonly required?: true;
}

export interface Operation {
  readonly handler: RouteHandler;
  /** Also served by the ETSI fast path (etsiFastPath.ts), when the request is a plain one. */
  readonly fast?: true;
  readonly summary: string;
  readonly query?: readonly QueryParameter[];
  /** The request body's schema (what the handler validates it with) and whether a body is required. */
  readonly body?: { readonly schema: z.ZodType; readonly required: boolean };
  /** The 200 answer: its description, and its schema (JSON) or media type. */
  readonly ok: { readonly description: string; readonly schema?: z.ZodType; readonly mediaType?: string };
  /** The error statuses this operation's own logic answers (transport errors are common to all). */
  readonly errors: readonly number[];
}

export interface RouteTag {
  readonly name: string;
  readonly description: string;
}

export interface RouteDef {
  /** The OpenAPI path template, parameters in braces: `/api/v1/keys/{slave_SAE_ID}/status`. */
  readonly path: string;
  /** The OpenAPI tag: the group the route belongs to. */
  readonly tag: RouteTag;
  readonly enabledBy: RouteSwitch | null;
  /** The operations by method, in the order the Allow header lists them. */
  readonly methods: Readonly<Partial<Record<HttpMethod, Operation>>>;
  /**
   * HEAD is answered 405 instead of by the GET handler: that GET reserves or consumes keys, which a HEAD,
   * whose answer has no body, must not do.
   */
  readonly refuseHead?: true;
}

/** A check in front of every path under a prefix (the admin API's token): a refusal, or null to go on. */
export interface RouteGuard {
  readonly prefix: string;
  readonly enabledBy: RouteSwitch;
  readonly admit: (ctx: RouteContext, req: IncomingMessage) => TransportError | null;
}
