// Phases 2 and 3 of a check: seeded workloads, judged by the invariants, every distinct defect shrunk.
// fast-check generates workloads (workload.ts) and runs each in a fresh session against the target. A run
// that shows a violation of a group not seen before fails the property; fast-check then shrinks it to the
// shortest workload that still shows that group. The group is then known, and generation goes on (under
// the next seed of the check's seed) until the runs or the budget are spent, so one check reports every
// defect it can see, each with its own shortest example and a count of how often it showed.
import fc from 'fast-check';
import { BudgetExhausted } from './checkContext.js';
import type { CheckContext } from './checkContext.js';
import { createCheckSession, detectedAtMs, type CheckSession, type SessionViolation } from './checkSession.js';
import type { Target } from './targetSchema.js';
import { groupOf, targetNames } from './violationGroups.js';
import { actionArb, runAction, type Action } from './workload.js';

export interface GroupExample {
  readonly group: string;
  /** The shrunk workload and the session that ran it last (its transcript is the example's history). */
  readonly actions: readonly Action[];
  readonly session: CheckSession;
  readonly violation: SessionViolation;
}

export interface PropertyOutcome {
  readonly runs: number;
  readonly interrupted: boolean;
  /** One example per group, in the order the groups were found. */
  readonly examples: readonly GroupExample[];
  /** How many violations of each group the generated runs showed (shrinking runs not counted). */
  readonly occurrences: ReadonlyMap<string, number>;
  /** performance.now() when the first failing workload showed its first violation, before any shrinking. */
  readonly firstFailureAtMs: number | null;
}

export interface PropertyOptions {
  readonly seed: number;
  readonly runs: number;
  readonly maxActions?: number;
  readonly concurrency?: number;
  /** Groups already seen (in the conformance phase): not shrunk again here, but still counted. */
  readonly known?: ReadonlySet<string>;
}

export async function runPropertyPhase(target: Target, context: CheckContext, options: PropertyOptions): Promise<PropertyOutcome> {
  const names = targetNames(target);
  const known = new Set(options.known ?? []);
  const occurrences = new Map<string, number>();
  const examples: GroupExample[] = [];
  let runs = 0;
  let interrupted = false;
  let firstFailureAtMs: number | null = null;
  const arbitrary = fc.array(actionArb(target.admin !== undefined, options.concurrency ?? 8), { minLength: 1, maxLength: options.maxActions ?? 30 });

  for (let round = 0; runs < options.runs && !interrupted; round++) {
    // null while generating; the group being shrunk once a run showed a new one.
    let shrinking: string | null = null;
    let lastFailing: { session: CheckSession; violation: SessionViolation } | null = null;
    const property = fc.asyncProperty(arbitrary, async (actions) => {
      if (shrinking === null && runs >= options.runs) return;
      const session = createCheckSession(target, context);
      try {
        for (const action of actions) await runAction(session, action);
      } catch (error) {
        if (!(error instanceof BudgetExhausted)) throw error;
        interrupted = true;
        return;
      }
      const shown = session.violations.map((found) => ({ found, group: groupOf(found, names) }));
      if (shrinking === null) {
        runs += 1;
        for (const { group } of shown) occurrences.set(group, (occurrences.get(group) ?? 0) + 1);
        if (shown.length > 0) firstFailureAtMs ??= Math.min(...session.violations.map((found) => detectedAtMs(session, found.entries)));
        const fresh = shown.find(({ group }) => !known.has(group));
        if (fresh === undefined) return;
        shrinking = fresh.group;
        lastFailing = { session, violation: fresh.found };
        throw new Error(`${fresh.found.invariant} ${fresh.found.message}`);
      }
      const same = shown.find(({ group }) => group === shrinking);
      if (same !== undefined) {
        lastFailing = { session, violation: same.found };
        throw new Error(`${same.found.invariant} ${same.found.message}`);
      }
    });
    const remaining = context.deadlineAt - performance.now();
    if (remaining <= 0) {
      interrupted = true;
      break;
    }
    const details = await fc.check(property, { seed: options.seed + round, numRuns: options.runs - runs, interruptAfterTimeLimit: Math.max(1, Math.floor(remaining)), markInterruptAsFailure: false });
    if (details.interrupted) interrupted = true;
    const found = lastFailing as { session: CheckSession; violation: SessionViolation } | null;
    if (!details.failed || details.counterexample === null || shrinking === null || found === null) {
      // A run that threw for another reason than a violation is the checker's own fault: surface it.
      if (details.failed && shrinking === null && details.errorInstance !== null) throw details.errorInstance;
      break;
    }
    const group: string = shrinking;
    known.add(group);
    examples.push({ group, actions: details.counterexample[0], session: found.session, violation: found.violation });
  }
  return { runs, interrupted, examples, occurrences, firstFailureAtMs };
}
