// The OpenAPI 3.1 document, generated from the one wire schema (zod → JSON Schema).
import { z } from 'zod';
import { errorSchema, keyContainerSchema, keyIdsSchema, keyRequestSchema, keySchema, statusSchema } from '../model/wireSchema.js';

let cached: Record<string, unknown> | null = null;

const json = (ref: string) => ({ 'application/json': { schema: { $ref: `#/components/schemas/${ref}` } } });
const errors = {
  '400': { description: 'Bad request format', content: json('Error') },
  '401': { description: 'Unauthorized', content: json('Error') },
  '503': { description: 'Error on the server side', content: json('Error') },
};

export function buildOpenApiDocument(): Record<string, unknown> {
  if (cached !== null) return cached;
  // One registry, so each schema is its own component and references the others by component path.
  const registry = z.registry<{ id: string }>();
  const parts = { Status: statusSchema, KeyRequest: keyRequestSchema, Key: keySchema, KeyContainer: keyContainerSchema, KeyIDs: keyIdsSchema, Error: errorSchema };
  for (const [id, schema] of Object.entries(parts)) registry.add(schema, { id });
  const generated = z.toJSONSchema(registry, { target: 'draft-2020-12', io: 'output', uri: (id) => `#/components/schemas/${id}` });
  const schemas = Object.fromEntries(
    Object.entries(generated.schemas).map(([id, schema]) => {
      const { $schema: _schema, $id: _id, ...rest } = schema as Record<string, unknown>;
      return [id, rest];
    }),
  );
  const saeParam = (name: string) => ({ name, in: 'path', required: true, schema: { type: 'string' } });
  cached = {
    openapi: '3.1.0',
    info: { title: 'kmesim: ETSI GS QKD 014 key delivery API', version: '1.1.1' },
    paths: {
      '/api/v1/keys/{slave_SAE_ID}/status': {
        get: { summary: 'Get status', parameters: [saeParam('slave_SAE_ID')], responses: { '200': { description: 'Status', content: json('Status') }, ...errors } },
      },
      '/api/v1/keys/{slave_SAE_ID}/enc_keys': {
        get: {
          summary: 'Get key',
          parameters: [saeParam('slave_SAE_ID'), { name: 'number', in: 'query', schema: { type: 'integer' } }, { name: 'size', in: 'query', schema: { type: 'integer' } }],
          responses: { '200': { description: 'Key container', content: json('KeyContainer') }, ...errors },
        },
        post: {
          summary: 'Get key',
          parameters: [saeParam('slave_SAE_ID')],
          requestBody: { required: false, content: json('KeyRequest') },
          responses: { '200': { description: 'Key container', content: json('KeyContainer') }, ...errors },
        },
      },
      '/api/v1/keys/{master_SAE_ID}/dec_keys': {
        get: {
          summary: 'Get key with key IDs',
          parameters: [saeParam('master_SAE_ID'), { name: 'key_ID', in: 'query', required: true, schema: { type: 'string' } }],
          responses: { '200': { description: 'Key container', content: json('KeyContainer') }, ...errors },
        },
        post: {
          summary: 'Get key with key IDs',
          parameters: [saeParam('master_SAE_ID')],
          requestBody: { required: true, content: json('KeyIDs') },
          responses: { '200': { description: 'Key container', content: json('KeyContainer') }, ...errors },
        },
      },
    },
    components: { schemas },
  };
  return cached;
}
