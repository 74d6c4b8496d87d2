// The OpenAPI 3.1 document of a list of routes of the route table (routeTable.ts): paths, methods,
// parameters, bodies and answers come from the table, schemas from the one wire schema (zod → JSON Schema).
// The ETSI data formats are components, referenced by name; the extension routes' bodies are inline.
import { z } from 'zod';
import { errorSchema, keyContainerSchema, keyIdsSchema, keyRequestSchema, keySchema, statusSchema } from '../model/wireSchema.js';
import { operationsOf, pathParameters } from './routePaths.js';
import type { Operation, RouteDef } from './routeTypes.js';

/** The ETSI GS QKD 014 data formats (§6), each a component of the document under its name. */
const COMPONENTS: Readonly<Record<string, z.ZodType>> = {
  Status: statusSchema,
  KeyRequest: keyRequestSchema,
  Key: keySchema,
  KeyContainer: keyContainerSchema,
  KeyIDs: keyIdsSchema,
  Error: errorSchema,
};

const ERROR_DESCRIPTIONS: Readonly<Record<number, string>> = {
  400: 'Bad request format',
  401: 'Unauthorized',
  503: 'Error on the server side',
};

let components: Record<string, unknown> | null = null;

function componentSchemas(): Record<string, unknown> {
  if (components !== null) return components;
  // One registry, so each schema is its own component and references the others by component path.
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(COMPONENTS)) registry.add(schema, { id });
  const generated = z.toJSONSchema(registry, { target: 'draft-2020-12', io: 'output', uri: (id) => `#/components/schemas/${id}` });
  components = Object.fromEntries(
    Object.entries(generated.schemas).map(([id, schema]) => {
      const { $schema: _schema, $id: _id, ...rest } = schema as Record<string, unknown>;
      return [id, rest];
    }),
  );
  return components;
}

const componentIds = new Map<z.ZodType, string>(Object.entries(COMPONENTS).map(([id, schema]) => [schema, id]));

/** A schema as a JSON media type's schema: a reference for a component, inline otherwise. */
function jsonSchemaOf(schema: z.ZodType | undefined, io: 'input' | 'output'): Record<string, unknown> {
  if (schema === undefined) return { type: 'object' };
  const id = componentIds.get(schema);
  if (id !== undefined) return { $ref: `#/components/schemas/${id}` };
  const { $schema: _schema, ...rest } = z.toJSONSchema(schema, { target: 'draft-2020-12', io }) as Record<string, unknown>;
  return rest;
}

const json = (schema: Record<string, unknown>) => ({ 'application/json': { schema } });

function describeOperation(route: RouteDef, operation: Operation): Record<string, unknown> {
  const parameters = [
    ...pathParameters(route.path).map((name) => ({ name, in: 'path', required: true, schema: { type: 'string' } })),
    ...(operation.query ?? []).map((query) => ({ name: query.name, in: 'query', ...(query.required === true ? { required: true } : {}), schema: { type: query.type } })),
  ];
  const { ok } = operation;
  const okContent = ok.mediaType === undefined ? json(jsonSchemaOf(ok.schema, 'output')) : { [ok.mediaType]: { schema: { type: 'string' } } };
  return {
    summary: operation.summary,
    tags: [route.tag.name],
    ...(route.enabledBy === null ? {} : { 'x-kmesim-enabled-by': route.enabledBy }),
    ...(parameters.length === 0 ? {} : { parameters }),
    ...(operation.body === undefined ? {} : { requestBody: { required: operation.body.required, content: json(jsonSchemaOf(operation.body.schema, 'input')) } }),
    responses: {
      '200': { description: ok.description, content: okContent },
      ...Object.fromEntries(
        operation.errors.map((status) => [String(status), { description: ERROR_DESCRIPTIONS[status] ?? 'Error', content: json({ $ref: '#/components/schemas/Error' }) }]),
      ),
    },
  };
}

const documents = new WeakMap<readonly RouteDef[], Record<string, unknown>>();

/** The document of exactly these routes, each with exactly its methods; the same object for the same list. */
export function openApiDocumentOf(routes: readonly RouteDef[]): Record<string, unknown> {
  const known = documents.get(routes);
  if (known !== undefined) return known;
  const paths = Object.fromEntries(
    routes.map((route) => [route.path, Object.fromEntries(operationsOf(route).map(([method, operation]) => [method.toLowerCase(), describeOperation(route, operation)]))]),
  );
  const document = {
    openapi: '3.1.0',
    info: { title: 'kmesim: ETSI GS QKD 014 key delivery API', version: '1.1.1' },
    tags: [...new Set(routes.map((route) => route.tag))].map((tag) => ({ name: tag.name, description: tag.description })),
    paths,
    components: { schemas: componentSchemas() },
  };
  documents.set(routes, document);
  return document;
}
