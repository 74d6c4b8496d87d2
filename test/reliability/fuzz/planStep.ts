// Turns a generated step into the request to send now and the answers a conforming server may give.
import type { Step } from './fuzzSteps.js';
import type { Plan, PlanContext } from './planCommon.js';
import { planAdminBody, planAdminVia, planDecBody, planEncBody, planMalformed, planManyIds, planOversize, planPath, planQuery, planSaeId } from './planHostile.js';
import { planContentType, planIdentity, planMethod, planProtocol } from './planTransport.js';
import { planAdvance, planDec, planDelete, planEnc, planKmSync, planLink, planRead, planRefill, planRegister, planStatus } from './planValid.js';

export function planStep(ctx: PlanContext, step: Step): Plan {
  // The per-user-pool routes do not exist on other profiles: those steps read /health instead.
  const poolOnly = step.t === 'register' || step.t === 'refill' || step.t === 'delete' || step.t === 'kmSync';
  if (poolOnly && !ctx.profile.poolRoutes) return planRead(ctx, { t: 'read', what: 'health' });
  switch (step.t) {
    case 'status':
      return planStatus(ctx, step);
    case 'enc':
      return planEnc(ctx, step);
    case 'dec':
      return planDec(ctx, step);
    case 'advance':
      return planAdvance(step);
    case 'link':
      return planLink(ctx, step);
    case 'read':
      return planRead(ctx, step);
    case 'encBody':
      return planEncBody(ctx, step);
    case 'decBody':
      return planDecBody(ctx, step);
    case 'malformed':
      return planMalformed(ctx, step);
    case 'query':
      return planQuery(ctx, step);
    case 'saeId':
      return planSaeId(ctx, step);
    case 'path':
      return planPath(ctx, step);
    case 'adminVia':
      return planAdminVia(ctx, step);
    case 'adminBody':
      return planAdminBody(step);
    case 'oversize':
      return planOversize(ctx, step);
    case 'manyIds':
      return planManyIds(ctx, step);
    case 'method':
      return planMethod(ctx, step);
    case 'contentType':
      return planContentType(ctx, step);
    case 'identity':
      return planIdentity(ctx, step);
    case 'protocol':
      return planProtocol(ctx, step);
    case 'register':
      return planRegister(ctx, step);
    case 'refill':
      return planRefill(ctx, step);
    case 'delete':
      return planDelete(ctx, step);
    case 'kmSync':
      return planKmSync(ctx, step);
  }
}
