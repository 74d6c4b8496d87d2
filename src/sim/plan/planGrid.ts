// A plan's grid: every combination of the values it varies, in a fixed order (the axes in the order below,
// the first varying slowest), and the base scenario with one point's values put in.
import { resolveProfile } from '../../model/profiles.js';
import { scenarioProblems } from '../loadScenario.js';
import { buildProfile } from '../scenarioProfile.js';
import { scenarioSchema, type Scenario } from '../scenarioSchema.js';
import type { Vary, VaryName } from './planSchema.js';

/** The axes in the order the grid nests them. */
export const AXES: readonly VaryName[] = ['supplyRate', 'distanceKm', 'users', 'mailsPerUserPerDay', 'lowThresholdPct', 'syncPeriod', 'initialBits', 'poolCapacity'];

export type Point = Readonly<Partial<Record<VaryName, number>>>;

/** Every point of the grid, in order. */
export function gridPoints(vary: Vary): Point[] {
  let points: Point[] = [{}];
  for (const axis of AXES) {
    const list = vary[axis];
    if (list === undefined) continue;
    points = points.flatMap((point) => list.map((value) => ({ ...point, [axis]: value })));
  }
  return points;
}

/** The base scenario with a point's values put in; the result is validated like a scenario file. */
export function scenarioAt(base: Scenario, point: Point, name: string): Scenario {
  const world = structuredClone(base.world);
  const workload = structuredClone(base.workload);
  if (point.poolCapacity !== undefined) {
    world.pool.capacity = point.poolCapacity;
    if (world.pool.initialKeys !== undefined) world.pool.initialKeys = Math.min(world.pool.initialKeys, point.poolCapacity);
  }
  if (point.supplyRate !== undefined) {
    const { link: _link, rate: _rate, ...rest } = world.supply ?? {};
    world.supply = { ...rest, rate: point.supplyRate };
  }
  if (point.distanceKm !== undefined) {
    const { rate: _rate, link, ...rest } = world.supply ?? {};
    world.supply = { ...rest, link: { ...link, distanceKm: point.distanceKm } };
  }
  if (point.users !== undefined) world.users = { count: point.users };
  if (point.mailsPerUserPerDay !== undefined) workload.mailsPerUserPerDay = point.mailsPerUserPerDay;
  if (point.lowThresholdPct !== undefined) {
    world.pool.lowThresholdPct = point.lowThresholdPct;
    // The emergency mark stays at or below the low one.
    const emergency = world.pool.emergencyThresholdPct ?? resolveProfile(world.profile).emergencyThresholdPct;
    world.pool.emergencyThresholdPct = Math.min(emergency, point.lowThresholdPct);
  }
  if (point.syncPeriod !== undefined) world.sync.scheduled = point.syncPeriod;
  if (point.initialBits !== undefined && world.supply !== undefined) world.supply = { ...world.supply, initialBits: point.initialBits };
  // Expectations belong to the base scenario's own story, not to a point of the grid.
  const parsed = scenarioSchema.safeParse({ ...base, name, world, workload, expect: [] });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new PointError(`${describePoint(point)}: ${issue?.path.join('.') || 'scenario'}: ${issue?.message ?? 'invalid'}`);
  }
  const scenario = parsed.data;
  // Every rule a scenario file must keep, and a profile that holds together: a point that breaks one is
  // refused before anything runs.
  const problems = scenarioProblems(scenario);
  try {
    buildProfile(scenario);
  } catch (error) {
    problems.push((error as Error).message);
  }
  if (problems.length > 0) throw new PointError(`${describePoint(point)}: ${problems[0]}`);
  return scenario;
}

/** A point of the grid that makes no valid scenario. */
export class PointError extends Error {}

/** A point as a short label: `poolCapacity=100 supplyRate=400`. */
export function describePoint(point: Point): string {
  return AXES.filter((axis) => point[axis] !== undefined)
    .map((axis) => `${axis}=${point[axis]}`)
    .join(' ');
}

/** The axes the points vary, in grid order. */
export function variedAxes(points: readonly Point[]): VaryName[] {
  return AXES.filter((axis) => points.some((point) => point[axis] !== undefined));
}

/**
 * The lines of the grid along one axis: the items grouped by the values of every other axis, in grid
 * order, each line with what it holds fixed and its label.
 */
export function linesAlong<T extends { readonly point: Point }>(items: readonly T[], axis: VaryName): Array<{ readonly given: Point; readonly label: string; readonly items: T[] }> {
  const lines = new Map<string, { readonly given: Point; readonly label: string; readonly items: T[] }>();
  for (const item of items) {
    const { [axis]: _along, ...given } = item.point;
    const label = describePoint(given) || 'the base scenario';
    const line = lines.get(label) ?? { given, label, items: [] as T[] };
    line.items.push(item);
    lines.set(label, line);
  }
  return [...lines.values()];
}
