// What the API fuzzing generates: small, printable step descriptions (fast-check shrinks and prints these),
// which planStep turns into concrete HTTP requests against the world as it stands. Indices (`m`, `s`, `k`)
// pick among the SAEs and issued keys that exist when the step runs, so a shrunk sequence still makes sense.
import fc from 'fast-check';

export type EtsiRoute = 'status' | 'enc' | 'dec';
export type BodyRoute = 'enc' | 'dec' | 'register' | 'refill' | 'advance' | 'reset' | 'faults';

/** A JSON member: its name and its raw JSON text (which may be a placeholder such as "$ISSUED"). */
export type Member = readonly [string, string];

export type IdentityVariant =
  | 'missing'
  | 'empty'
  | 'unknown'
  | 'otherSae'
  | 'duplicate'
  | 'padded'
  | 'lowercased'
  | 'headerNameCase'
  | 'wrongHeaderName'
  | 'latin1Suffix'
  | 'forwardedFor';

export type SaeIdSpec =
  | { readonly kind: 'unicode'; readonly text: string }
  | { readonly kind: 'encodedKnown'; readonly s: number }
  | { readonly kind: 'badPercent'; readonly text: string }
  | { readonly kind: 'long'; readonly length: number }
  | { readonly kind: 'rawHighBytes'; readonly text: string }
  | { readonly kind: 'dots'; readonly which: number };

export type Step =
  // Valid traffic, so the world has state: keys are reserved, delivered, pools drain, exhaust and refill.
  | { readonly t: 'status'; readonly m: number; readonly s: number }
  | { readonly t: 'enc'; readonly m: number; readonly s: number; readonly hot: boolean; readonly n: number; readonly via: 'post' | 'get'; readonly sized: boolean }
  | { readonly t: 'dec'; readonly k: number; readonly n: number; readonly via: 'post' | 'get' }
  | { readonly t: 'advance'; readonly ms: number }
  | { readonly t: 'link'; readonly down: boolean }
  | { readonly t: 'read'; readonly what: 'health' | 'openapi' | 'adminState' | 'invariants' | 'pools' | 'kmStatus' }
  // Hostile input.
  | { readonly t: 'encBody'; readonly m: number; readonly s: number; readonly members: readonly Member[] }
  | { readonly t: 'decBody'; readonly k: number; readonly members: readonly Member[] }
  | { readonly t: 'malformed'; readonly route: BodyRoute; readonly k: number; readonly text: string }
  | { readonly t: 'query'; readonly route: 'enc' | 'dec' | 'status'; readonly m: number; readonly s: number; readonly k: number; readonly parts: readonly string[] }
  | { readonly t: 'saeId'; readonly route: EtsiRoute; readonly m: number; readonly k: number; readonly id: SaeIdSpec }
  | { readonly t: 'path'; readonly route: EtsiRoute; readonly trick: number; readonly m: number; readonly s: number; readonly k: number }
  | { readonly t: 'adminVia'; readonly trick: number; readonly target: number; readonly sae: boolean }
  | { readonly t: 'adminBody'; readonly target: 'advance' | 'reset' | 'faults'; readonly members: readonly Member[] }
  | { readonly t: 'oversize'; readonly route: BodyRoute; readonly bytes: number; readonly chunked: boolean; readonly m: number; readonly s: number }
  | { readonly t: 'manyIds'; readonly k: number; readonly count: number; readonly mode: 'unknown' | 'duplicate' | 'issuedPlusUnknown' | 'malformed' | 'notSlave' }
  | { readonly t: 'method'; readonly route: EtsiRoute | 'register' | 'refill' | 'admin'; readonly method: string; readonly withBody: boolean; readonly m: number; readonly s: number }
  | { readonly t: 'contentType'; readonly route: 'enc' | 'dec' | 'register'; readonly type: number; readonly encoding: number; readonly m: number; readonly s: number; readonly k: number; readonly name: number }
  | { readonly t: 'identity'; readonly route: EtsiRoute; readonly variant: IdentityVariant; readonly m: number; readonly s: number; readonly k: number; readonly other: number }
  | { readonly t: 'protocol'; readonly variant: 'unknownMethod' | 'expect' | 'lengthAndChunked' | 'longHeader' | 'longPath' | 'highBytePath'; readonly m: number; readonly s: number }
  // The per-user-pool profile's own routes (planned as `read` on other profiles).
  | { readonly t: 'register'; readonly kme: number; readonly name: number; readonly members: readonly Member[] }
  | { readonly t: 'refill'; readonly m: number; readonly target: 'self' | 'other' | 'unknown'; readonly body: string | null }
  | { readonly t: 'delete'; readonly m: number; readonly target: 'self' | 'other' | 'unknown' }
  | { readonly t: 'kmSync'; readonly m: number; readonly unknownCaller: boolean };

const nat = fc.nat({ max: 1_000 });

// Numbers as JSON text: edge values, floats, exponents, huge and negative values, and non-numbers.
const integerToken = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: -3, max: 140 }).map(String) },
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      '0', '-0', '1.0', '1e2', '1E1', '0.5', '1.5', '-1', '128', '129', '127.9999999999999999', '9007199254740991', '9007199254740992',
      '9007199254740993', '1e308', '1e999', '-1e999', '1e-7', '100000000000000000000', '-9007199254740993', '2.0e0',
    ),
  },
  { weight: 1, arbitrary: fc.double().map((value) => JSON.stringify(value)) },
  { weight: 1, arbitrary: fc.constantFrom('true', 'false', 'null', '[]', '{}', '[1]', '"1"', '" 1"', '"0x10"', '"1e2"', '"NaN"', '{"$numberInt":"1"}') },
  { weight: 1, arbitrary: fc.string({ maxLength: 12 }).map((text) => JSON.stringify(text)) },
);

const sizeToken = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: -16, max: 8_300 }).map(String) },
  { weight: 3, arbitrary: fc.integer({ min: -2, max: 1_030 }).map((bytes) => String(bytes * 8)) },
  {
    weight: 3,
    arbitrary: fc.constantFrom('8', '256', '8192', '8200', '7', '255', '257', '0', '-8', '256.0', '2.56e2', '256.5', '"256"', '8191.99999999999999', '65536', '1e999', 'null', '[256]'),
  },
  { weight: 1, arbitrary: fc.double().map((value) => JSON.stringify(value)) },
);

const slaveListToken = fc.constantFrom(
  '[]', '["$SLAVE"]', '["$OTHER"]', '["$MASTER"]', '["$OTHER","$OTHER"]', '["nobody"]', '[1]', '"$OTHER"', 'null', '[null]', '{}', '$MANY_SAES', '[""]',
);

const extensionToken = fc.constantFrom(
  '[]', '{}', '[{}]', 'null', '[1]', '["x"]', '[null]', '[[]]', '[{"kmesim_min_ttl_ms":0}]', '[{"kmesim_min_ttl_ms":86400000}]',
  '[{"kmesim_min_ttl_ms":86400001}]', '[{"kmesim_min_ttl_ms":-1}]', '[{"kmesim_min_ttl_ms":"5"}]', '[{"kmesim_min_ttl_ms":1.5}]',
  '[{"kmesim_min_ttl_ms":1e999}]', '[{"unknown_extension":1}]', '[{"__proto__":{"x":1}}]', '[{"kmesim_min_ttl_ms":5,"other":1}]', '[{},{"kmesim_min_ttl_ms":null}]',
);

const anyJsonToken = fc.oneof(
  { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 2 }).map((value) => JSON.stringify(value)) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 16 }).map((text) => JSON.stringify(text)) },
);

const keyRequestMember: fc.Arbitrary<Member> = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(fc.constant('number'), integerToken) },
  { weight: 4, arbitrary: fc.tuple(fc.constant('size'), sizeToken) },
  { weight: 2, arbitrary: fc.tuple(fc.constant('additional_slave_SAE_IDs'), slaveListToken) },
  { weight: 2, arbitrary: fc.tuple(fc.constantFrom('extension_mandatory', 'extension_optional'), extensionToken) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom('__proto__', 'constructor', 'NUMBER', 'key_IDs', 'Number', ''), anyJsonToken) },
);

const keyIdsToken = fc.constantFrom(
  '[{"key_ID":"$ISSUED"}]', '[{"key_ID":"$ISSUED"},{"key_ID":"$ISSUED"}]', '[{"key_ID":"$ISSUED"},{"key_ID":"$SAME"}]', '[]', '[{"key_ID":1}]',
  '["$ISSUED"]', '{"key_ID":"$ISSUED"}', '[{"key_ID":"$ISSUED","key_ID_extension":{}}]', '[{"key_ID":"$ISSUED","key_ID_extension":[]}]',
  '[{"key_ID":"$ISSUED","key_ID_extension":null}]', '[{"key_ID":"not-a-key-id"}]', '[{"key_ID":"$UPPER"}]', '[{"key_ID":"$SPACED"}]', '[{}]', '[null]',
  '[{"key_ID":"$UNKNOWN"}]', '[{"key_ID":"$ISSUED"},{"key_ID":"$UNKNOWN"}]', '"$ISSUED"', 'null', '[{"key_ID":""}]', '[{"key_ID":"$ISSUED","key_ID":"$UNKNOWN"}]',
);

const keyIdsMember: fc.Arbitrary<Member> = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(fc.constant('key_IDs'), keyIdsToken) },
  { weight: 1, arbitrary: fc.tuple(fc.constant('key_IDs_extension'), fc.constantFrom('{}', '[]', 'null', '1', '{"x":[]}')) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom('__proto__', 'KEY_IDS', 'number'), anyJsonToken) },
);

const registerMember: fc.Arbitrary<Member> = fc.oneof(
  { weight: 3, arbitrary: fc.tuple(fc.constant('sae_id'), fc.oneof(fc.constantFrom('"$NAME"', '"$NAME"', '"$NAME"', '""', '"register"', '"pools"', '"km"', '"$EXISTING"', '"$LONG_NAME"', '1', 'null', '["$NAME"]'), anyJsonToken)) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom('user_email', 'display_name'), fc.oneof(fc.constantFrom('"a@b.example"', '"$LONG_NAME"', '1', 'null'), anyJsonToken)) },
  { weight: 2, arbitrary: fc.tuple(fc.constant('initial_pool_size'), fc.oneof(integerToken, fc.constantFrom('1000000', '1000001', '50', '5'))) },
);

const adminMember = (target: 'advance' | 'reset' | 'faults'): fc.Arbitrary<Member> => {
  switch (target) {
    case 'advance':
      // Only small valid advances: a large one would expire every issued key mid-run.
      return fc.tuple(fc.constantFrom('ms', 'MS', 'seed'), fc.oneof(fc.constantFrom('-1', '1.5', '"10"', 'null', '1e999', '315360000001', '[]', '{}', '-0'), fc.integer({ min: 0, max: 2_000 }).map(String)));
    case 'reset':
      // Never a valid reset: at least one member (`{}` resets at the current seed), each an unknown member or
      // a seed that is not a non-negative integer.
      return fc.tuple(fc.constantFrom('seed', 'Seed', 'ms'), fc.constantFrom('-1', '1.5', '"7"', 'null', '9007199254740993', '[]', '{}', 'true', '1e999'));
    case 'faults':
      // Never a valid fault: latency, failNext and restart would disturb every later request.
      return fc.tuple(
        fc.constantFrom('latencyMs', 'failNext', 'restart', 'remote', 'link', 'unknown'),
        fc.constantFrom('-1', '60001', '1.5', '"offline"x', '{"count":1}', '{"count":-1,"status":503}', '{"kme":"nowhere"}', '"sideways"', '{"id":"nowhere","remote":"offline"}', '{"id":"KME_A~KME_B"}', 'null', '[]'),
      );
  }
};

const identityVariant: fc.Arbitrary<IdentityVariant> = fc.constantFrom(
  'missing', 'empty', 'unknown', 'otherSae', 'duplicate', 'padded', 'lowercased', 'headerNameCase', 'wrongHeaderName', 'latin1Suffix', 'forwardedFor',
);

const saeIdSpec: fc.Arbitrary<SaeIdSpec> = fc.oneof(
  fc.record({ kind: fc.constant('unicode' as const), text: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }) }),
  fc.record({ kind: fc.constant('encodedKnown' as const), s: nat }),
  fc.record({ kind: fc.constant('badPercent' as const), text: fc.constantFrom('%', '%zz', '%E0%A4%A', '%C3', '%%41', 'SAE%5', '%u0041', '%00', '%FF%FE') }),
  fc.record({ kind: fc.constant('long' as const), length: fc.oneof(fc.integer({ min: 200, max: 8_000 }), fc.integer({ min: 20_000, max: 60_000 })) }),
  fc.record({ kind: fc.constant('rawHighBytes' as const), text: fc.string({ unit: fc.integer({ min: 0x80, max: 0xff }).map((code) => String.fromCharCode(code)), minLength: 1, maxLength: 6 }) }),
  fc.record({ kind: fc.constant('dots' as const), which: fc.nat({ max: 9 }) }),
);

/** A raw query string in parts joined by '&' (each part raw: may lack '=', repeat a name, or be encoded). */
const queryPart = fc.oneof(
  { weight: 3, arbitrary: fc.tuple(fc.constantFrom('number', 'size'), fc.oneof(integerToken, sizeToken, fc.constantFrom('', '%31', '+1', '0x10', '1e2', '000000000000001', '9999999999999999', '1%2E5', '%2D1', ' 1'))).map(([name, value]) => `${name}=${value}`) },
  { weight: 2, arbitrary: fc.constantFrom('key_ID=$ISSUED', 'key_ID=$ISSUED', 'key_ID=$UNKNOWN', 'key_ID=', 'key_ID', 'key_ID=$UPPER', 'key_ID[]=$ISSUED', 'KEY_ID=$ISSUED') },
  { weight: 1, arbitrary: fc.constantFrom('number', 'size=', 'NUMBER=1', 'foo=1', '__proto__=1', 'number[]=1', 'number[a]=1', 'hasOwnProperty=1', '=1', '&', 'number=1&number=1', 'a=1&'.repeat(1_200)) },
);

export interface StepOptions {
  /** Whether the per-user-pool routes exist (register, refill, delete, km/sync). */
  readonly poolRoutes: boolean;
}

export function stepArbitrary(options: StepOptions): fc.Arbitrary<Step> {
  const bodyRoute = fc.constantFrom<BodyRoute>(...(options.poolRoutes ? (['enc', 'dec', 'register', 'refill', 'advance', 'reset', 'faults'] as const) : (['enc', 'dec', 'advance', 'reset', 'faults'] as const)));
  const etsiRoute = fc.constantFrom<EtsiRoute>('status', 'enc', 'dec');
  const valid: Array<fc.WeightedArbitrary<Step>> = [
    { weight: 6, arbitrary: fc.record({ t: fc.constant('status' as const), m: nat, s: nat }) },
    {
      weight: 10,
      arbitrary: fc.record({
        t: fc.constant('enc' as const),
        m: nat,
        s: nat,
        hot: fc.constant(false),
        n: fc.oneof(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 64, max: 128 })),
        via: fc.constantFrom('post' as const, 'post' as const, 'get' as const),
        sized: fc.boolean(),
      }),
    },
    // Large requests on one pair, so its pool drains, exhausts (503) and is refilled by syncs.
    {
      weight: 6,
      arbitrary: fc.record({
        t: fc.constant('enc' as const),
        m: nat,
        s: nat,
        hot: fc.constant(true),
        n: fc.integer({ min: 96, max: 128 }),
        via: fc.constantFrom('post' as const, 'post' as const, 'get' as const),
        sized: fc.boolean(),
      }),
    },
    { weight: 16, arbitrary: fc.record({ t: fc.constant('dec' as const), k: nat, n: fc.oneof(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 64, max: 128 })), via: fc.constantFrom('post' as const, 'post' as const, 'get' as const) }) },
    { weight: 3, arbitrary: fc.record({ t: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 3_000 }) }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('link' as const), down: fc.boolean() }) },
    { weight: 2, arbitrary: fc.record({ t: fc.constant('read' as const), what: fc.constantFrom('health' as const, 'openapi' as const, 'adminState' as const, 'invariants' as const, 'pools' as const, 'kmStatus' as const) }) },
  ];
  const hostile: Array<fc.WeightedArbitrary<Step>> = [
    { weight: 8, arbitrary: fc.record({ t: fc.constant('encBody' as const), m: nat, s: nat, members: fc.array(keyRequestMember, { maxLength: 4 }) }) },
    { weight: 6, arbitrary: fc.record({ t: fc.constant('decBody' as const), k: nat, members: fc.array(keyIdsMember, { maxLength: 3 }) }) },
    {
      weight: 4,
      arbitrary: fc.record({
        t: fc.constant('malformed' as const),
        route: bodyRoute,
        k: nat,
        text: fc.oneof(
          fc.constantFrom('{', '{"number":', '{"number":1,}', "{'number':1}", '{"number":01}', '{"number":NaN}', '{"number":Infinity}', '[1,2', '{"key_IDs":[{"key_ID":"x"}]', 'nul', 'tru', '"unterminated', '{"a":"\\x"}', '\u0000', ' ', '{}{}', '{"a":1}garbage', '\ufeff{}', '{"number":0x10}'),
          fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }),
        ),
      }),
    },
    { weight: 6, arbitrary: fc.record({ t: fc.constant('query' as const), route: fc.constantFrom('enc' as const, 'enc' as const, 'dec' as const, 'status' as const), m: nat, s: nat, k: nat, parts: fc.array(queryPart, { minLength: 1, maxLength: 4 }) }) },
    { weight: 5, arbitrary: fc.record({ t: fc.constant('saeId' as const), route: etsiRoute, m: nat, k: nat, id: saeIdSpec }) },
    { weight: 5, arbitrary: fc.record({ t: fc.constant('path' as const), route: etsiRoute, trick: fc.nat({ max: 19 }), m: nat, s: nat, k: nat }) },
    { weight: 3, arbitrary: fc.record({ t: fc.constant('adminVia' as const), trick: fc.nat({ max: 11 }), target: fc.nat({ max: 4 }), sae: fc.boolean() }) },
    {
      weight: 2,
      arbitrary: fc.constantFrom('advance' as const, 'reset' as const, 'faults' as const).chain((target) =>
        fc.record({ t: fc.constant('adminBody' as const), target: fc.constant(target), members: fc.array(adminMember(target), { minLength: target === 'reset' ? 1 : 0, maxLength: 2 }) }),
      ),
    },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('oversize' as const), route: bodyRoute, bytes: fc.integer({ min: 262_145, max: 1_200_000 }), chunked: fc.boolean(), m: nat, s: nat }) },
    { weight: 2, arbitrary: fc.record({ t: fc.constant('manyIds' as const), k: nat, count: fc.integer({ min: 1_000, max: 5_000 }), mode: fc.constantFrom('unknown' as const, 'duplicate' as const, 'issuedPlusUnknown' as const, 'malformed' as const, 'notSlave' as const) }) },
    {
      weight: 5,
      arbitrary: fc.record({
        t: fc.constant('method' as const),
        route: fc.constantFrom('status' as const, 'enc' as const, 'dec' as const, 'register' as const, 'refill' as const, 'admin' as const),
        method: fc.constantFrom('HEAD', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'TRACE', 'PROPFIND', 'GET', 'POST'),
        withBody: fc.boolean(),
        m: nat,
        s: nat,
      }),
    },
    { weight: 4, arbitrary: fc.record({ t: fc.constant('contentType' as const), route: fc.constantFrom('enc' as const, 'dec' as const, 'register' as const), type: fc.nat({ max: 19 }), encoding: fc.nat({ max: 9 }), m: nat, s: nat, k: nat, name: nat }) },
    { weight: 7, arbitrary: fc.record({ t: fc.constant('identity' as const), route: etsiRoute, variant: identityVariant, m: nat, s: nat, k: nat, other: nat }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('protocol' as const), variant: fc.constantFrom('unknownMethod' as const, 'expect' as const, 'lengthAndChunked' as const, 'longHeader' as const, 'longPath' as const, 'highBytePath' as const), m: nat, s: nat }) },
  ];
  const pool: Array<fc.WeightedArbitrary<Step>> = options.poolRoutes
    ? [
        { weight: 5, arbitrary: fc.record({ t: fc.constant('register' as const), kme: fc.nat({ max: 1 }), name: nat, members: fc.array(registerMember, { maxLength: 3 }) }) },
        { weight: 3, arbitrary: fc.record({ t: fc.constant('refill' as const), m: nat, target: fc.constantFrom('self' as const, 'self' as const, 'other' as const, 'unknown' as const), body: fc.constantFrom(null, '{}', '{"count":5}', '{"count":0}', '{"count":-1}', '{"count":1.5}', '{"count":"5"}', '[]', '{"count":null}') }) },
        { weight: 1, arbitrary: fc.record({ t: fc.constant('delete' as const), m: nat, target: fc.constantFrom('self' as const, 'other' as const, 'other' as const, 'unknown' as const) }) },
        { weight: 1, arbitrary: fc.record({ t: fc.constant('kmSync' as const), m: nat, unknownCaller: fc.boolean() }) },
      ]
    : [];
  return fc.oneof(...valid, ...hostile, ...pool);
}
