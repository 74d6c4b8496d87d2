// The plan file of `kmesim plan` (YAML): a base scenario, the parameters to vary over a grid, the seeds per
// point, and the objective a configuration must meet. Errors name the file and the field.
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import { durationSchema } from '../../engine/duration.js';
import { KEY_WAIT_EDGES_MS } from '../expectations.js';
import { parseScenario } from '../loadScenario.js';
import type { Scenario } from '../scenarioSchema.js';

const values = <T extends z.ZodType>(item: T) => z.array(item).min(1).max(64);

/** What a plan may vary; each list is one axis of the grid. */
export const varySchema = z
  .strictObject({
    /** Keys per pool. */
    poolCapacity: values(z.number().int().min(1).max(1_000_000)).optional(),
    /** Secret bits per second each link produces. */
    supplyRate: values(z.number().min(0)).optional(),
    /** Link length in km, rated by the decoy-state formula (the base scenario's link description, or GYS). */
    distanceKm: values(z.number().min(0).max(10_000)).optional(),
    users: values(z.number().int().min(2).max(100_000)).optional(),
    mailsPerUserPerDay: values(z.number().min(0)).optional(),
    lowThresholdPct: values(z.number().min(0).max(100)).optional(),
    /** The scheduled sync's period. */
    syncPeriod: values(durationSchema).optional(),
    /** Bits in each link's key store at the start (the base scenario must have a supply). */
    initialBits: values(z.number().min(0)).optional(),
  })
  .refine((vary) => Object.values(vary).some((list) => list !== undefined), { message: 'vary at least one parameter' })
  .refine((vary) => vary.supplyRate === undefined || vary.distanceKm === undefined, { message: 'vary supplyRate or distanceKm, not both' });

export type Vary = z.output<typeof varySchema>;
export type VaryName = keyof Vary;

/** The most seeds a point may have. */
export const MAX_SEEDS = 10_000;

const CONFIDENCES = [0.9, 0.95, 0.99] as const;

export const planSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'lowercase letters, digits and dashes'),
  description: z.string().default(''),
  /** The base scenario file, relative to the plan file. */
  scenario: z.string().min(1),
  /** Seeds per point: 1…n. */
  seeds: z.number().int().min(1).max(MAX_SEEDS),
  vary: varySchema,
  /**
   * What a configuration must achieve, one of: at most `atMost` of messages wait `keyWaitOver` or longer
   * for their keys; at most `atMost` of runs see any pool run empty (`anyPoolExhausted: true`); or at most
   * `atMost` of runs have any message that could not go out at its first attempt (`anyMessageDeferred: true`,
   * the probability of ruin when key demand outruns the store).
   */
  objective: z
    .strictObject({
      /** A message "waits" when it waits this long or longer for its keys (1s, 10s, 1m, 10m or 1h). */
      keyWaitOver: durationSchema.refine((ms) => KEY_WAIT_EDGES_MS.includes(ms), { message: 'one of 1s, 10s, 1m, 10m, 1h' }).optional(),
      anyPoolExhausted: z.literal(true).optional(),
      anyMessageDeferred: z.literal(true).optional(),
      /** The largest share (of messages, or of runs) allowed. */
      atMost: z.number().gt(0).lt(1),
      /** Confidence of the interval the recommendation is judged on. */
      confidence: z.union(CONFIDENCES.map((c) => z.literal(c)) as [z.ZodLiteral<0.9>, z.ZodLiteral<0.95>, z.ZodLiteral<0.99>]).default(0.95),
    })
    .refine((objective) => [objective.keyWaitOver, objective.anyPoolExhausted, objective.anyMessageDeferred].filter((given) => given !== undefined).length === 1, {
      message: 'give one of keyWaitOver, anyPoolExhausted: true or anyMessageDeferred: true',
    }),
});

export type Plan = z.output<typeof planSchema>;

export class PlanError extends Error {}

/** Reads a plan file and its base scenario; a PlanError (or the scenario's own error) says what is wrong. */
export async function loadPlan(file: string): Promise<{ plan: Plan; scenario: Scenario; scenarioFile: string }> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new PlanError(`${file}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (error) {
    throw new PlanError(`${file}: not YAML: ${(error as Error).message.split('\n')[0]}`);
  }
  const parsed = planSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new PlanError(`${file}: ${issue?.path.join('.') || '(file)'}: ${issue?.message ?? 'invalid'}`);
  }
  const scenarioFile = resolve(dirname(file), parsed.data.scenario);
  let scenarioText: string;
  try {
    scenarioText = await readFile(scenarioFile, 'utf8');
  } catch {
    throw new PlanError(`${file}: scenario: no such file ${parsed.data.scenario}`);
  }
  const scenario = parseScenario(scenarioText, scenarioFile);
  const listed = scenario.world.users;
  if (parsed.data.vary.mailsPerUserPerDay !== undefined && Array.isArray(listed) && listed.every((user) => user.mailsPerDay !== undefined)) {
    throw new PlanError(`${file}: vary.mailsPerUserPerDay: every user of the base scenario has its own mailsPerDay, which this would not change`);
  }
  if (parsed.data.vary.initialBits !== undefined && scenario.world.supply === undefined) {
    throw new PlanError(`${file}: vary.initialBits: the base scenario has no world.supply whose store could start at these levels`);
  }
  if (parsed.data.vary.users !== undefined && Array.isArray(scenario.world.users)) {
    throw new PlanError(`${file}: vary.users: the base scenario lists its users by name; vary users only over a scenario that gives a count`);
  }
  return { plan: parsed.data, scenario, scenarioFile };
}
