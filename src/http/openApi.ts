// The OpenAPI 3.1 document, generated from the one wire schema (zod → JSON Schema).
import { z } from 'zod';
import { errorSchema, keyContainerSchema, keyIdsSchema, keyRequestSchema, statusSchema } from '../model/wireSchema.js';

let cached: Record<string, unknown> | null = null;

const json = (ref: string) => ({ 'application/json': { schema: { $ref: `#/components/schemas/${ref}` } } });
const errors = {
  '400': { description: 'Bad request format', content: json('Error') },
  '401': { description: 'Unauthorized', content: json('Error') },
  '503': { description: 'Error on the server side', content: json('Error') },
};

export function buildOpenApiDocument(): Record<string, unknown> {
  if (cached !== null) return cached;
  const schemas: Record<string, unknown> = {};
  for (const [name, schema] of Object.entries({ Status: statusSchema, KeyRequest: keyRequestSchema, KeyContainer: keyContainerSchema, KeyIDs: keyIdsSchema, Error: errorSchema })) {
    const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'output' }) as Record<string, unknown>;
    schemas[name] = rest;
  }
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
