// Checks that scenario files load with defaults and millisecond durations, and that every kind of mistake
// (schema, YAML syntax, cross-field rule, missing path) becomes a ScenarioError pointing at the right line,
// column and dotted field, by parsing small YAML texts whose line numbers can be counted by eye.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadScenarios, parseScenario, ScenarioError } from '../../../src/sim/loadScenario.js';

const FILE = 'scenarios/x.yaml';

function yaml(...lines: string[]): string {
  return `${lines.join('\n')}\n`;
}

const HEADER = ['name: demo', 'seeds: [1]', 'duration: 2h'];
const THREE_USERS = ['world:', '  users: {count: 3}'];

function catchScenarioError(run: () => unknown): ScenarioError {
  try {
    run();
  } catch (error) {
    if (error instanceof ScenarioError) return error;
    throw error;
  }
  throw new Error('expected a ScenarioError');
}

let dir = '';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kmesim-scenarios-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

it('parses a valid scenario, fills in defaults and converts durations to milliseconds', () => {
  const scenario = parseScenario(
    yaml(...HEADER, ...THREE_USERS, 'workload:', '  readDelay: {min: 30s, max: 1h30m}', 'faults:', '  - {type: remote-offline, from: 10m, to: 1h}'),
    FILE,
  );

  expect(scenario.duration).toBe(7_200_000);
  expect(scenario.description).toBe('');
  expect(scenario.liveness).toEqual({ bound: 3_600_000 });
  expect(scenario.world).toMatchObject({ profile: 'strict', kmes: 1, sources: 1, users: { count: 3 }, pool: {}, sync: { latency: 2_000 } });
  expect(scenario.workload).toMatchObject({ mailsPerUserPerDay: 20, recipients: 'uniform', messageBytes: { min: 200, max: 4_000 } });
  expect(scenario.workload.readDelay).toEqual({ min: 30_000, max: 5_400_000 });
  expect(scenario.faults).toEqual([{ type: 'remote-offline', from: 600_000, to: 3_600_000 }]);
  expect(scenario.expect).toEqual([]);
});

it('names the file, line, column and dotted field of a wrong type deep in the tree', () => {
  const error = catchScenarioError(() =>
    parseScenario(
      yaml(...HEADER, ...THREE_USERS, 'faults:', '  - {type: kme-restart, at: 10m}', '  - type: latency', '    from: 1m', '    to: 2m', '    ms: fast'),
      FILE,
    ),
  );

  expect(error.message).toBe('scenarios/x.yaml:11:9: faults.1.ms: expected number, got "fast"');
  expect(error).toMatchObject({ file: FILE, line: 11, column: 9, field: 'faults.1.ms' });
  expect(error.issues).toHaveLength(1);
});

it('reports a number out of range inside a union by the branch it was meant for', () => {
  const error = catchScenarioError(() =>
    parseScenario(yaml(...HEADER, ...THREE_USERS, 'workload:', '  recipients:', '    hot: user-1', '    share: 1.5'), FILE),
  );

  expect(error.message).toBe('scenarios/x.yaml:9:12: workload.recipients.share: must be at most 1');
});

it('reports an unknown key at the key itself', () => {
  const error = catchScenarioError(() => parseScenario(yaml(...HEADER, ...THREE_USERS, '  pool:', '    capacity: 100', '    capcity: 90'), FILE));

  expect(error.message).toBe('scenarios/x.yaml:8:5: world.pool.capcity: unknown key');
});

it('reports a missing required key at the map that lacks it', () => {
  const error = catchScenarioError(() => parseScenario(yaml(...HEADER, 'world:', '  profile: lenient'), FILE));

  expect(error.message).toBe('scenarios/x.yaml:5:3: world.users: required');
});

it('keeps every issue and puts the first in file order in the message', () => {
  const error = catchScenarioError(() => parseScenario(yaml('name: Demo', 'seeds: []', 'duration: soon', ...THREE_USERS), FILE));

  expect(error.issues.map((issue) => `${issue.line}:${issue.field}`)).toEqual(['1:name', '2:seeds', '3:duration']);
  expect(error.message).toBe('scenarios/x.yaml:1:7: name: lowercase letters, digits and dashes');
});

it('turns a YAML syntax error into a ScenarioError with the line yaml reports', () => {
  const error = catchScenarioError(() => parseScenario(yaml('name: demo', 'seeds: [1]', 'duration: 2h: 3h'), FILE));

  expect(error.message).toBe('scenarios/x.yaml:3:11: (file): Nested mappings are not allowed in compact mappings');
  expect(error).toMatchObject({ file: FILE, line: 3, column: 11, field: '(file)' });
});

it('reports an unclosed flow sequence with a line', () => {
  const error = catchScenarioError(() => parseScenario(yaml('name: demo', 'seeds: [1, 2', 'duration: 2h'), FILE));

  expect(error.line).toBe(3);
  expect(error.message).toMatch(/^scenarios\/x\.yaml:3:1: \(file\): Flow sequence .* end with a \]$/);
});

it('rejects a duplicate key at its second occurrence', () => {
  const error = catchScenarioError(() => parseScenario(yaml(...HEADER, ...THREE_USERS, '  users: {count: 4}'), FILE));

  expect(error.message).toBe('scenarios/x.yaml:6:3: world.users: duplicate key');
});

it('rejects an empty file as not a map', () => {
  const error = catchScenarioError(() => parseScenario('', FILE));

  expect(error.message).toBe('scenarios/x.yaml: (file): expected map, got null');
  expect(error.line).toBeNull();
});

const CROSS_FIELD_CASES: ReadonlyArray<{ name: string; lines: string[]; expected: string }> = [
  {
    name: 'rejects an emergency threshold above the low threshold',
    lines: [...HEADER, ...THREE_USERS, '  pool:', '    lowThresholdPct: 10', '    emergencyThresholdPct: 20'],
    expected: '8:28: world.pool.emergencyThresholdPct: must be at most lowThresholdPct (10)',
  },
  {
    name: 'rejects a message size minimum above the maximum',
    lines: [...HEADER, ...THREE_USERS, 'workload:', '  messageBytes: {min: 5000, max: 4000}'],
    expected: '7:23: workload.messageBytes.min: must be at most max (4000)',
  },
  {
    name: 'rejects a transmit delay minimum above the maximum',
    lines: [...HEADER, ...THREE_USERS, 'workload:', '  transmitDelay: {min: 2m, max: 1m}'],
    expected: '7:24: workload.transmitDelay.min: must be at most max (1m)',
  },
  {
    name: 'rejects a read delay minimum above the maximum',
    lines: [...HEADER, ...THREE_USERS, 'workload:', '  readDelay:', '    min: 1h', '    max: 30m'],
    expected: '8:10: workload.readDelay.min: must be at most max (30m)',
  },
  {
    name: 'rejects a fault window that ends before it starts',
    lines: [...HEADER, ...THREE_USERS, 'faults:', '  - {type: link-down, from: 1h, to: 30m}'],
    expected: '7:29: faults.0.from: must be before to (30m)',
  },
  {
    name: 'rejects a fault window that ends after the duration',
    lines: [...HEADER, ...THREE_USERS, 'faults:', '  - {type: latency, from: 1h, to: 3h, ms: 200}'],
    expected: '7:35: faults.0.to: must be within duration (2h)',
  },
  {
    name: 'rejects a point fault at or after the end of the duration',
    lines: [...HEADER, ...THREE_USERS, 'faults:', '  - {type: fail-next, at: 2h, count: 3}'],
    expected: '7:27: faults.0.at: must be before the end of duration (2h)',
  },
  {
    name: 'rejects a user name that is listed twice',
    lines: [...HEADER, 'world:', '  users:', '    - name: alice', '    - name: bob', '    - name: alice'],
    expected: '8:13: world.users.2.name: duplicate user name "alice" (also world.users.0.name)',
  },
  {
    name: 'rejects a hot recipient that is not a listed user',
    lines: [...HEADER, 'world:', '  users: [{name: alice}, {name: bob}]', 'workload:', '  recipients: {hot: carol, share: 0.5}'],
    expected: '7:21: workload.recipients.hot: unknown user "carol" (users are alice, bob)',
  },
  {
    name: 'rejects a burst recipient beyond the user count',
    lines: [...HEADER, ...THREE_USERS, 'workload:', '  bursts: [{at: 1m, senders: 2, recipient: user-4}]'],
    expected: '7:44: workload.bursts.0.recipient: unknown user "user-4" (users are user-1 … user-3)',
  },
  {
    name: 'rejects a race recipient numbered from zero',
    lines: [...HEADER, ...THREE_USERS, 'workload:', '  races: [{at: 1m, senders: 2, recipient: user-0}]'],
    expected: '7:43: workload.races.0.recipient: unknown user "user-0" (users are user-1 … user-3)',
  },
  {
    name: 'rejects a link-down on a link the world does not have',
    lines: [...HEADER, 'world:', '  kmes: 2', '  users: {count: 3}', 'faults:', '  - {type: link-down, from: 10m, link: KME_A~KME_C}'],
    expected: '8:40: faults.0.link: no link "KME_A~KME_C" in this world (links: KME_A~KME_A, KME_A~KME_B, KME_B~KME_B)',
  },
  {
    name: 'rejects a link named with its KMEs out of order',
    lines: [...HEADER, 'world:', '  kmes: 2', '  users: {count: 3}', 'faults:', '  - {type: link-down, link: KME_B~KME_A}'],
    expected: '8:29: faults.0.link: no link "KME_B~KME_A" in this world (links: KME_A~KME_A, KME_A~KME_B, KME_B~KME_B)',
  },
  {
    name: 'rejects a link to a second KME in a world of one',
    lines: [...HEADER, ...THREE_USERS, 'faults:', '  - {type: link-down, link: KME_A~KME_B}'],
    expected: '7:29: faults.0.link: no link "KME_A~KME_B" in this world (links: KME_A~KME_A)',
  },
  {
    name: 'rejects a kme-restart of a KME index beyond the KMEs instead of wrapping it',
    lines: [...HEADER, 'world:', '  kmes: 2', '  users: {count: 3}', 'faults:', '  - {type: kme-restart, at: 1m, kme: 2}'],
    expected: '8:38: faults.0.kme: no KME with index 2: the world has 2 KMEs (indexes 0 … 1); by ID: KME_A, KME_B',
  },
  {
    name: 'rejects a user on a KME index beyond the KMEs instead of wrapping it',
    lines: [...HEADER, 'world:', '  users:', '    - {name: alice, kme: 0}', '    - {name: bob, kme: 1}'],
    expected: '7:24: world.users.1.kme: no KME with index 1: the world has 1 KME (index 0)',
  },
  {
    name: 'rejects an expected pool of an unknown user',
    lines: [...HEADER, 'world:', '  users: [{name: alice}, {name: bob}]', 'expect:', '  - {pool: alice, reaches: low}', '  - {pool: Bob, reaches: exhausted}'],
    expected: '8:12: expect.1.pool: unknown user "Bob" (users are alice, bob)',
  },
];

for (const { name, lines, expected } of CROSS_FIELD_CASES) {
  it(name, () => {
    const error = catchScenarioError(() => parseScenario(yaml(...lines), FILE));

    expect(error.message).toBe(`${FILE}:${expected}`);
  });
}

it('accepts every link, KME index and KME ID the world has', () => {
  const two = parseScenario(
    yaml(
      ...HEADER,
      'world:',
      '  kmes: 2',
      '  users: [{name: alice, kme: 1}, {name: bob, kme: 0}]',
      'faults:',
      '  - {type: kme-restart, at: 1m, kme: 1}',
      '  - {type: kme-restart, at: 2m, kme: KME_B}',
      ...['KME_A~KME_A', 'KME_A~KME_B', 'KME_B~KME_B'].map((link) => `  - {type: link-down, from: 3m, to: 4m, link: ${link}}`),
    ),
    FILE,
  );
  expect(two.faults).toHaveLength(5);
  const one = parseScenario(yaml(...HEADER, ...THREE_USERS, 'faults:', '  - {type: link-down, link: KME_A~KME_A}', '  - {type: kme-restart, kme: 0}'), FILE);
  expect(one.faults).toHaveLength(2);
});

it('accepts user-N names within the user count', () => {
  const scenario = parseScenario(
    yaml(...HEADER, ...THREE_USERS, 'workload:', '  recipients: {hot: user-3, share: 0.9}', 'expect:', '  - {pool: user-1, reaches: low}'),
    FILE,
  );

  expect(scenario.workload.recipients).toEqual({ hot: 'user-3', share: 0.9 });
});

it('loads every yaml file of a directory in name order and skips other entries', async () => {
  const target = join(dir, 'sorted');
  await mkdir(join(target, 'nested.yaml'), { recursive: true });
  await writeFile(join(target, 'b.yml'), yaml('name: b', 'seeds: [2]', 'duration: 1h', ...THREE_USERS));
  await writeFile(join(target, 'a.yaml'), yaml('name: a', 'seeds: [1]', 'duration: 1h', ...THREE_USERS));
  await writeFile(join(target, 'c.yaml'), yaml('name: c', 'seeds: [3]', 'duration: 1h', ...THREE_USERS));
  await writeFile(join(target, 'notes.txt'), 'not a scenario');
  await writeFile(join(target, 'nested.yaml', 'inner.yaml'), yaml('name: inner', 'seeds: [4]', 'duration: 1h', ...THREE_USERS));

  const loaded = await loadScenarios(target);

  expect(loaded.map(({ file, scenario }) => [file, scenario.name])).toEqual([
    [join(target, 'a.yaml'), 'a'],
    [join(target, 'b.yml'), 'b'],
    [join(target, 'c.yaml'), 'c'],
  ]);
});

it('loads a single file given by path', async () => {
  const file = join(dir, 'single.yaml');
  await writeFile(file, yaml(...HEADER, ...THREE_USERS));

  const loaded = await loadScenarios(file);

  expect(loaded).toHaveLength(1);
  expect(loaded[0]?.file).toBe(file);
  expect(loaded[0]?.scenario.name).toBe('demo');
});

it('reports the issues of every file in a directory', async () => {
  const target = join(dir, 'broken');
  await mkdir(target);
  await writeFile(join(target, 'a.yaml'), yaml('name: a', 'seeds: [1]', 'duration: 1h', 'world: {users: {count: 1}}'));
  await writeFile(join(target, 'b.yaml'), yaml('name: b', 'seeds: [1]', 'duration: 1h', ...THREE_USERS));
  await writeFile(join(target, 'c.yaml'), yaml('name: c', 'seeds: [1]', 'duration: later', ...THREE_USERS));

  const error = await loadScenarios(target).then(
    () => null,
    (reason: unknown) => reason,
  );

  expect(error).toBeInstanceOf(ScenarioError);
  expect((error as ScenarioError).issues.map((issue) => `${issue.file}:${issue.line}: ${issue.field}`)).toEqual([
    `${join(target, 'a.yaml')}:4: world.users.count`,
    `${join(target, 'c.yaml')}:3: duration`,
  ]);
});

it('rejects a missing path with a clear message', async () => {
  const missing = join(dir, 'nowhere.yaml');

  await expect(loadScenarios(missing)).rejects.toThrow(new ScenarioError([{ file: missing, line: null, column: null, field: '(file)', message: 'no such file or directory' }]));
  await expect(loadScenarios(missing)).rejects.toThrow(`${missing}: (file): no such file or directory`);
});

it('rejects a directory without scenario files', async () => {
  const empty = join(dir, 'empty');
  await mkdir(empty);

  await expect(loadScenarios(empty)).rejects.toThrow(`${empty}: (file): directory holds no *.yaml or *.yml files`);
});
