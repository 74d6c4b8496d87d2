// The served OpenAPI document: every $ref resolves against the document itself, and every kind of answer
// validates against the schema the document gives for its route and status (and against the zod schema).
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { expect } from 'vitest';
import { API_STATUSES, dec, decPath, deliver, enc, encGet, encPath, ETSI_ROUTE, keysOf, MAIN, statusOf, statusPath, UNKNOWN_KEY_ID, wireKind, type Contract, type Key } from './contractKit.js';
import { RawBody } from './kmeClient.js';

const OPENAPI_ID = 'urn:kmesim:served-openapi';
const TEMPLATES: Readonly<Record<string, string>> = {
  status: '/api/v1/keys/{slave_SAE_ID}/status',
  enc_keys: '/api/v1/keys/{slave_SAE_ID}/enc_keys',
  dec_keys: '/api/v1/keys/{master_SAE_ID}/dec_keys',
};

function resolvePointer(doc: unknown, ref: string): unknown {
  if (!ref.startsWith('#/')) return undefined;
  let node = doc;
  for (const raw of ref.slice(2).split('/')) {
    const part = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    if (node === null || typeof node !== 'object' || !Object.hasOwn(node, part)) return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  return node;
}

/** Every `$ref` of an OpenAPI 3.1 document that does not resolve against the document itself (its base URI). */
function unresolvedRefs(doc: unknown): string[] {
  const found: string[] = [];
  const visit = (node: unknown, at: string): void => {
    if (node === null || typeof node !== 'object') return;
    for (const [name, value] of Object.entries(node)) {
      if (name === '$ref' && typeof value === 'string') {
        if (resolvePointer(doc, value) === undefined) found.push(`${at}: ${value}`);
      } else {
        visit(value, `${at}/${name}`);
      }
    }
  };
  visit(doc, '#');
  return found;
}

export function openApiContract(contract: Contract): void {
  contract('the served OpenAPI document resolves every $ref against itself', async (open) => {
    const w = await open();
    const response = await w.call('KME_A', 'SAE_A1', 'GET', '/openapi.json');
    expect(response.status).toBe(200);
    expect(unresolvedRefs(response.body)).toEqual([]);
  });

  contract('every response validates against its zod wire schema and the served OpenAPI schema for its route and status', async (open) => {
    const w = await open();
    const pools = await open({ profile: 'per-user-pool' });
    const doc = (await w.call('KME_A', 'SAE_A1', 'GET', '/openapi.json')).body as Record<string, unknown>;
    // A tour of every kind of answer: both statuses, keys from both routes and methods, every error status.
    await statusOf(w, 'KME_A', 'SAE_A1', 'SAE_B1');
    await statusOf(w, 'KME_B', 'SAE_B1', 'SAE_B2');
    await statusOf(pools, 'KME_A', 'SAE_A1', 'SAE_B1');
    const keys = [...(await deliver(w, { number: 2 })), ...keysOf(await encGet(w, '?number=2&size=64'), 2)];
    await dec(w, keys.slice(0, 3).map((key) => key.key_ID));
    await w.call('KME_B', 'SAE_B1', 'GET', decPath('SAE_A1', `?key_ID=${(keys[3] as Key).key_ID}`));
    await enc(w, { size: 12 });
    await dec(w, [UNKNOWN_KEY_ID]);
    await dec(w, (await deliver(w)).map((key) => key.key_ID), MAIN, 'SAE_B2');
    await w.call('KME_A', 'SAE_NOBODY', 'GET', statusPath('SAE_B1'));
    await w.call('KME_A', 'SAE_A1', 'GET', '/api/v1/nothing');
    await w.call('KME_A', 'SAE_A1', 'PUT', encPath('SAE_B1'));
    await enc(w, new RawBody('x', 'text/plain'));
    await enc(w, { extension_optional: [{ padding: 'x'.repeat(300_000) }] });
    await w.client.admin.fault({ restart: { kme: 'KME_B', downtimeMs: 60_000 } });
    await w.call('KME_B', 'SAE_B1', 'GET', statusPath('SAE_A1'));

    // References resolve as OpenAPI 3.1 resolves them: against the document, whose base URI this $id stands for.
    const ajv = new Ajv2020({ strict: true, allErrors: true }).addKeyword({ keyword: 'components' });
    ajv.addSchema({ $id: OPENAPI_ID, components: doc['components'] });
    const validatorFor = (ref: string): ValidateFunction => {
      expect(resolvePointer(doc, ref), `served document has ${ref}`).toBeTypeOf('object');
      let validate: ValidateFunction | undefined;
      expect(() => (validate = ajv.getSchema(`${OPENAPI_ID}${ref}`)), `${ref} compiles with its references resolved`).not.toThrow();
      if (validate === undefined) throw new Error(`no schema at ${ref}`);
      return validate;
    };
    const exchanges = [...w.exchanges, ...pools.exchanges].filter((e) => ETSI_ROUTE.test(e.path) || e.response.status >= 400);
    const statuses = new Set(exchanges.map((e) => e.response.status));
    expect([...statuses].sort()).toEqual([200, 400, 401, 404, 405, 413, 415, 503]);
    for (const { method, path, response } of exchanges) {
      const template = TEMPLATES[ETSI_ROUTE.exec(path)?.[1] ?? ''];
      const operation =
        template === undefined ? undefined : (resolvePointer(doc, `#/paths/${encodeURIComponent(template).replace(/%2F/g, '~1')}/${method.toLowerCase()}`) as Record<string, unknown> | undefined);
      const documented = operation === undefined ? undefined : resolvePointer(operation, `#/responses/${response.status}/content/application~1json/schema/$ref`);
      // API outcomes must be documented for their operation; routing and transport errors use the Error schema.
      if (API_STATUSES.includes(response.status) && operation !== undefined) expect(documented, `${method} ${path} documents ${response.status}`).toBeTypeOf('string');
      const ref = typeof documented === 'string' ? documented : '#/components/schemas/Error';
      const validate = validatorFor(ref);
      expect(validate(response.body), `${method} ${path} → ${response.status} against ${ref}: ${ajv.errorsText(validate.errors)}`).toBe(true);
      expect(ref.endsWith(`/${wireKind(path, response.status) ?? 'none'}`)).toBe(true);
    }
  });
}
