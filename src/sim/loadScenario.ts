// Reads scenario files: YAML with source positions, validated by scenarioSchema, then the rules that span
// fields. Every problem is reported as `file:line:column: field: what is wrong`, pointing at the YAML node.
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isMap, isNode, isScalar, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import { formatDuration } from '../engine/duration.js';
import { linkIdsOf } from '../model/world.js';
import { buildProfile } from './scenarioProfile.js';
import { scenarioSchema, type Scenario } from './scenarioSchema.js';
import { supplySpecOf } from './supply.js';

export interface ScenarioIssue {
  file: string;
  line: number | null;
  column: number | null;
  /** Dotted path such as `workload.recipients.share`, or `(file)` when no field applies. */
  field: string;
  message: string;
}

export class ScenarioError extends Error {
  readonly file: string;
  readonly line: number | null;
  readonly column: number | null;
  readonly field: string;
  readonly issues: readonly ScenarioIssue[];

  constructor(issues: readonly ScenarioIssue[]) {
    const first = issues[0];
    if (first === undefined) throw new RangeError('a ScenarioError needs at least one issue');
    super(formatScenarioIssue(first));
    this.name = 'ScenarioError';
    this.file = first.file;
    this.line = first.line;
    this.column = first.column;
    this.field = first.field;
    this.issues = issues;
  }
}

export function formatScenarioIssue(issue: ScenarioIssue): string {
  const where = issue.line === null ? '' : `:${issue.line}:${issue.column ?? 1}`;
  return `${issue.file}${where}: ${issue.field}: ${issue.message}`;
}

type Path = ReadonlyArray<string | number>;
interface PathIssue {
  path: Path;
  message: string;
  /** Unknown keys point at the key rather than at its value. */
  atKey?: boolean;
}

const FILE_FIELD = '(file)';

export function parseScenario(text: string, file: string): Scenario {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const locate = (offset: number): Pick<ScenarioIssue, 'line' | 'column'> => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };

  if (doc.errors.length > 0) {
    throw new ScenarioError(
      doc.errors.map((error) => {
        const keyPath = error.code === 'DUPLICATE_KEY' ? findKeyPath(doc, error.pos[0]) : null;
        const message = keyPath === null ? error.message : 'duplicate key';
        return { file, ...locate(error.pos[0]), field: keyPath === null ? FILE_FIELD : formatPath(keyPath), message };
      }),
    );
  }

  const toIssue = ({ path, message, atKey }: PathIssue): ScenarioIssue => {
    const offset = findOffset(doc, path, atKey === true);
    return { file, ...(offset === null ? { line: null, column: null } : locate(offset)), field: formatPath(path), message };
  };

  let input: unknown;
  try {
    input = doc.toJS();
  } catch (error) {
    // yaml refuses documents whose aliases expand without bound ("billion laughs").
    throw new ScenarioError([{ file, line: null, column: null, field: FILE_FIELD, message: (error as Error).message }]);
  }
  const result = scenarioSchema.safeParse(input, { error: describeIssue });
  if (!result.success) throw new ScenarioError(sortByPosition(result.error.issues.flatMap((issue) => flattenIssue(issue, [], input)).map(toIssue)));
  const ruleIssues = checkCrossFieldRules(result.data);
  if (ruleIssues.length > 0) throw new ScenarioError(sortByPosition(ruleIssues.map(toIssue)));
  return result.data;
}

/** What is wrong with a scenario built in code (a plan's point), as `field: message` lines: the rules that span fields. */
export function scenarioProblems(scenario: Scenario): string[] {
  return checkCrossFieldRules(scenario).map(({ path, message }) => `${formatPath(path)}: ${message}`);
}

/** zod reports in schema order; the author reads top to bottom, so the first issue is the first in the file. */
function sortByPosition(issues: ScenarioIssue[]): ScenarioIssue[] {
  return issues.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
}

export async function loadScenarios(target: string): Promise<Array<{ file: string; scenario: Scenario }>> {
  const targetStat = await stat(target).catch((error: NodeJS.ErrnoException) => {
    const reason = error.code === 'ENOENT' ? 'no such file or directory' : error.message;
    throw new ScenarioError([{ file: target, line: null, column: null, field: FILE_FIELD, message: reason }]);
  });
  let files = [target];
  if (targetStat.isDirectory()) {
    const entries = await readdir(target, { withFileTypes: true });
    // Plain code-unit order, not localeCompare: the run order must not depend on the machine's locale.
    files = entries
      .filter((entry) => (entry.isFile() || entry.isSymbolicLink()) && /\.ya?ml$/.test(entry.name))
      .map((entry) => entry.name)
      .sort()
      .map((name) => join(target, name));
    if (files.length === 0) {
      throw new ScenarioError([{ file: target, line: null, column: null, field: FILE_FIELD, message: 'directory holds no *.yaml or *.yml files' }]);
    }
  }

  const loaded: Array<{ file: string; scenario: Scenario }> = [];
  const issues: ScenarioIssue[] = [];
  // Every file is checked before throwing, so one run reports the problems of the whole directory.
  for (const file of files) {
    try {
      loaded.push({ file, scenario: parseScenario(await readFile(file, 'utf8'), file) });
    } catch (error) {
      if (error instanceof ScenarioError) issues.push(...error.issues);
      else issues.push({ file, line: null, column: null, field: FILE_FIELD, message: (error as Error).message });
    }
  }
  if (issues.length > 0) throw new ScenarioError(issues);
  return loaded;
}

function formatPath(path: Path): string {
  return path.length === 0 ? FILE_FIELD : path.join('.');
}

/** The start of the node at `path`, else of its nearest existing ancestor (the map that lacks a key). */
function findOffset(doc: Document, path: Path, atKey: boolean): number | null {
  if (atKey && path.length > 0) {
    const parent = doc.getIn(path.slice(0, -1), true);
    const key = path[path.length - 1];
    const pair = isMap(parent) ? parent.items.find((item) => (isScalar(item.key) ? item.key.value : item.key) === key) : undefined;
    if (isNode(pair?.key) && pair.key.range) return pair.key.range[0];
  }
  for (let length = path.length; length >= 0; length -= 1) {
    const node = length === 0 ? doc.contents : doc.getIn(path.slice(0, length), true);
    if (isNode(node) && node.range) return node.range[0];
  }
  return null;
}

/** The path of the map key that starts at `offset` (yaml reports duplicate keys by offset only). */
function findKeyPath(doc: Document, offset: number): Path | null {
  const search = (node: unknown, path: Path): Path | null => {
    if (isMap(node)) {
      for (const pair of node.items) {
        const key = isScalar(pair.key) ? pair.key.value : pair.key;
        const keyPath = [...path, typeof key === 'number' ? key : String(key)];
        if (isNode(pair.key) && pair.key.range?.[0] === offset) return keyPath;
        const found = search(pair.value, keyPath);
        if (found !== null) return found;
      }
    } else if (isSeq(node)) {
      for (const [index, item] of node.items.entries()) {
        const found = search(item, [...path, index]);
        if (found !== null) return found;
      }
    }
    return null;
  };
  return search(doc.contents, []);
}

/**
 * Turns zod issues into one issue per problem: one per unknown key, and for a failed union the issues of
 * the branch the input was evidently meant for, since "Invalid input" alone tells the author nothing.
 */
function flattenIssue(issue: z.core.$ZodIssue, base: Path, input: unknown): PathIssue[] {
  const path = [...base, ...issue.path.map((segment) => (typeof segment === 'symbol' ? String(segment) : segment))];
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => ({ path: [...path, key], message: 'unknown key', atKey: true }));
  }
  if (issue.code !== 'invalid_union' || issue.errors.length === 0) return [{ path, message: issue.message }];

  const value = readAt(input, path);
  if (value === undefined) return [{ path, message: 'required' }];
  const branches = issue.errors
    .filter((branch) => !branch.some((sub) => sub.path.length === 0 && ['invalid_type', 'invalid_value', 'invalid_union'].includes(sub.code)))
    .map((branch) => ({ branch, unknownKeys: countUnknownKeys(branch) }))
    .sort((a, b) => a.unknownKeys - b.unknownKeys || a.branch.length - b.branch.length);
  const [best, second] = branches;
  // A branch that shares no key with the input is no better than its rivals: say that nothing matched.
  if (best !== undefined && !(best.unknownKeys > 0 && second?.unknownKeys === best.unknownKeys)) {
    return best.branch.flatMap((sub) => flattenIssue(sub, path, input));
  }
  return [{ path, message: describeUnionMismatch(issue.errors, value) }];
}

function countUnknownKeys(branch: readonly z.core.$ZodIssue[]): number {
  return branch.reduce((sum, sub) => sum + (sub.code === 'unrecognized_keys' && sub.path.length === 0 ? sub.keys.length : 0), 0);
}

function describeUnionMismatch(branches: ReadonlyArray<readonly z.core.$ZodIssue[]>, value: unknown): string {
  const forms = branches.map((branch) => {
    const root = branch.find((sub) => sub.path.length === 0);
    if (root?.code === 'invalid_value') return root.values.map((option) => JSON.stringify(option)).join(' | ');
    if (root?.code === 'invalid_type') return nameType(root.expected);
    return null;
  });
  if (forms.some((form) => form === null)) return 'matches none of the allowed forms';
  return `expected ${[...new Set(forms)].join(' | ')}, got ${describeValue(value)}`;
}

function readAt(value: unknown, path: Path): unknown {
  return path.reduce<unknown>((node, key) => (typeof node === 'object' && node !== null ? (node as Record<string, unknown>)[key] : undefined), value);
}

/** Messages in the author's terms (YAML maps and lists, "required"), given to zod as a per-parse error map. */
function describeIssue(issue: z.core.$ZodRawIssue): string | undefined {
  switch (issue.code) {
    case 'invalid_type':
      return issue.input === undefined ? 'required' : `expected ${nameType(issue.expected)}, got ${describeValue(issue.input)}`;
    case 'invalid_value':
      if (issue.input === undefined) return 'required';
      return `expected ${issue.values.map((option) => JSON.stringify(option)).join(' | ')}, got ${describeValue(issue.input)}`;
    case 'invalid_union': {
      if (issue.input === undefined) return 'required';
      const options: unknown = 'options' in issue ? issue.options : undefined;
      if (issue.discriminator === undefined || !Array.isArray(options)) return undefined;
      const tag = readAt(issue.input, [issue.discriminator]);
      return tag === undefined ? 'required' : `expected ${options.map((option) => JSON.stringify(option)).join(' | ')}, got ${describeValue(tag)}`;
    }
    case 'too_big':
      return describeBound('at most', 'less than', issue.origin, issue.maximum, issue.inclusive);
    case 'too_small':
      if (issue.origin === 'string' && issue.minimum === 1) return 'must not be empty';
      return describeBound('at least', 'greater than', issue.origin, issue.minimum, issue.inclusive);
    // zod's own messages say these well enough.
    case 'custom':
    case 'invalid_element':
    case 'invalid_format':
    case 'invalid_key':
    case 'not_multiple_of':
    case 'unrecognized_keys':
      return undefined;
  }
}

function describeBound(inclusiveWord: string, exclusiveWord: string, origin: string, bound: number | bigint, inclusive: boolean | undefined): string {
  const word = inclusive === false ? exclusiveWord : inclusiveWord;
  if (origin === 'array') return `must have ${word} ${bound} item${bound === 1 ? '' : 's'}`;
  if (origin === 'string') return `must be ${word} ${bound} characters long`;
  return `must be ${word} ${bound}`;
}

function nameType(expected: string): string {
  const names: Readonly<Record<string, string>> = { object: 'map', array: 'list', int: 'integer' };
  return names[expected] ?? expected;
}

function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a map';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  return String(value);
}

/** Rules that relate fields to each other, which the schema checks one field at a time. */
function checkCrossFieldRules(scenario: Scenario): PathIssue[] {
  const issues: PathIssue[] = [];
  const { world, workload } = scenario;

  const { lowThresholdPct, emergencyThresholdPct } = world.pool;
  if (lowThresholdPct !== undefined && emergencyThresholdPct !== undefined && emergencyThresholdPct > lowThresholdPct) {
    issues.push({ path: ['world', 'pool', 'emergencyThresholdPct'], message: `must be at most lowThresholdPct (${lowThresholdPct})` });
  }
  const sizes = workload.messageBytes;
  if ('min' in sizes && sizes.min > sizes.max) {
    issues.push({ path: ['workload', 'messageBytes', 'min'], message: `must be at most max (${sizes.max})` });
  }
  if (world.supply?.initialBits !== undefined && world.supply.storeBits === undefined) {
    // Without storeBits the store holds one pool's worth (supplySpecOf): a start above it could not be.
    const storeBits = storeBitsOf(scenario);
    if (storeBits !== null && world.supply.initialBits > storeBits) {
      issues.push({ path: ['world', 'supply', 'initialBits'], message: `must not exceed the store (${storeBits} bits, one pool's worth: give storeBits for a larger one)` });
    }
  }
  for (const key of ['transmitDelay', 'readDelay'] as const) {
    const { min, max } = workload[key];
    if (min > max) issues.push({ path: ['workload', key, 'min'], message: `must be at most max (${formatDuration(max)})` });
  }

  const kmeIds = Array.from({ length: world.kmes }, (_, i) => `KME_${String.fromCharCode(65 + i)}`);
  // KMEs are named by index (0 … kmes - 1) or ID; a number beyond them names no KME.
  const kmeCount = kmeIds.length === 1 ? '1 KME (index 0)' : `${kmeIds.length} KMEs (indexes 0 … ${kmeIds.length - 1})`;
  // The links the world will have: one per pair of KMEs, each KME with itself included (createWorld).
  const linkIds = linkIdsOf(kmeIds);
  for (const [index, fault] of scenario.faults.entries()) {
    if (fault.type === 'kme-restart' && typeof fault.kme === 'string' && !kmeIds.includes(fault.kme)) {
      issues.push({ path: ['faults', index, 'kme'], message: `must be a KME index or one of ${kmeIds.join(', ')}` });
    }
    if (fault.type === 'kme-restart' && typeof fault.kme === 'number' && fault.kme >= kmeIds.length) {
      issues.push({ path: ['faults', index, 'kme'], message: `no KME with index ${fault.kme}: the world has ${kmeCount}; by ID: ${kmeIds.join(', ')}` });
    }
    if (fault.type === 'latency') {
      for (const member of ['route', 'sae', 'kme'] as const) {
        if (fault[member] !== undefined) issues.push({ path: ['faults', index, member], message: 'a latency limited to a route, an SAE or a KME is for the mock KME (serve); in a scenario, latency delays the transmission of every mail' });
      }
    }
    if (fault.type === 'fail-next' && fault.kme !== undefined && (typeof fault.kme === 'number' ? fault.kme >= kmeIds.length : !kmeIds.includes(fault.kme))) {
      issues.push({ path: ['faults', index, 'kme'], message: `must be a KME index below ${kmeIds.length} or one of ${kmeIds.join(', ')}` });
    }
    if (fault.type === 'link-down' && fault.link !== undefined && !linkIds.includes(fault.link)) {
      issues.push({ path: ['faults', index, 'link'], message: `no link ${JSON.stringify(fault.link)} in this world (links: ${linkIds.join(', ')})` });
    }
    if ('from' in fault) {
      // Without `to`, a fault lasts until the liveness phase heals it.
      if (fault.to === undefined) {
        if (fault.from >= scenario.duration) issues.push({ path: ['faults', index, 'from'], message: `must be before the end of duration (${formatDuration(scenario.duration)})` });
      } else {
        if (fault.from >= fault.to) issues.push({ path: ['faults', index, 'from'], message: `must be before to (${formatDuration(fault.to)})` });
        if (fault.to > scenario.duration) {
          issues.push({ path: ['faults', index, 'to'], message: `must be within duration (${formatDuration(scenario.duration)})` });
        }
      }
    } else if (fault.at >= scenario.duration) {
      issues.push({ path: ['faults', index, 'at'], message: `must be before the end of duration (${formatDuration(scenario.duration)})` });
    }
  }

  const users = world.users;
  if (Array.isArray(users)) {
    const firstIndex = new Map<string, number>();
    for (const [index, user] of users.entries()) {
      if (user.kme !== undefined && user.kme >= kmeIds.length) {
        issues.push({ path: ['world', 'users', index, 'kme'], message: `no KME with index ${user.kme}: the world has ${kmeCount}` });
      }
      const seen = firstIndex.get(user.name);
      if (seen === undefined) firstIndex.set(user.name, index);
      else issues.push({ path: ['world', 'users', index, 'name'], message: `duplicate user name "${user.name}" (also world.users.${seen}.name)` });
    }
  }
  const checkUser = (name: string, path: Path): void => {
    const known = Array.isArray(users) ? users.some((user) => user.name === name) : isGeneratedUser(name, users.count);
    if (known) return;
    const listed = Array.isArray(users) ? summarizeNames([...new Set(users.map((user) => user.name))]) : `user-1 … user-${users.count}`;
    issues.push({ path, message: `unknown user "${name}" (users are ${listed})` });
  };
  if (typeof workload.recipients === 'object') checkUser(workload.recipients.hot, ['workload', 'recipients', 'hot']);
  for (const [index, burst] of workload.bursts.entries()) checkUser(burst.recipient, ['workload', 'bursts', index, 'recipient']);
  for (const [index, race] of workload.races.entries()) checkUser(race.recipient, ['workload', 'races', index, 'recipient']);
  for (const [index, expectation] of scenario.expect.entries()) {
    if ('pool' in expectation) checkUser(expectation.pool, ['expect', index, 'pool']);
  }
  return issues;
}

function isGeneratedUser(name: string, count: number): boolean {
  const match = /^user-([1-9]\d*)$/.exec(name);
  return match !== null && Number(match[1]) <= count;
}

function summarizeNames(names: readonly string[]): string {
  const shown = names.slice(0, 5).join(', ');
  return names.length > 5 ? `${shown}, … (${names.length} in all)` : shown;
}

/** The size of the scenario's stores, as the run will make them; null when its profile does not hold together (reported where it is built). */
function storeBitsOf(scenario: Scenario): number | null {
  try {
    return supplySpecOf(scenario, buildProfile(scenario))?.capacityBits ?? null;
  } catch {
    return null;
  }
}
