// Oracle 1, per answer: never a 5xx (a 503 only where ETSI014.md gives it); always a JSON body (UTF-8, application/json); one of the statuses the
// request may get; an ETSI Error body on every refusal, with Allow on a 405; and a successful body that
// passes the plan's own check.
import { errorSchema } from '../../../src/model/wireSchema.js';
import type { Plan } from './planCommon.js';
import type { RawReply } from './sendRaw.js';

const strictError = errorSchema.strict();

/** The problem with an answer, or null. Runs the plan's success check (which updates the ledger). */
export function judgeReply(plan: Plan, reply: RawReply): string | null {
  const { status } = reply;
  if (status === 0) return 'no answer';
  // 503 is an API outcome (not enough keys, remote unreachable: C31, C32), but only where the request may get it.
  if (status >= 500 && !(status === 503 && plan.expect.includes(503))) return `server error ${status}`;
  const type = reply.headers['content-type'];
  if (type !== 'application/json; charset=utf-8') return `content type ${JSON.stringify(type)} instead of application/json; charset=utf-8`;
  const head = plan.request.method === 'HEAD';
  let body: unknown;
  if (head) {
    if (reply.body.length > 0) return 'a body on a HEAD answer';
  } else {
    try {
      body = JSON.parse(reply.body.toString('utf8'));
    } catch {
      return `body is not JSON: ${JSON.stringify(reply.body.toString('utf8').slice(0, 120))}`;
    }
  }
  if (!plan.expect.includes(status)) return `status ${status}, expected ${plan.expect.join(' or ')}`;
  if (status >= 400 && !head) {
    const parsed = strictError.safeParse(body);
    if (!parsed.success) return `refusal body is not an ETSI Error object: ${parsed.error.message}`;
  }
  if (status === 405) {
    const allow = String(reply.headers['allow'] ?? '');
    if (allow.length === 0) return '405 without an Allow header';
    if (allow.split(/,\s*/).includes(plan.request.method)) return `405 for ${plan.request.method}, which Allow (${allow}) lists`;
  }
  if (status >= 200 && status < 300 && !head && plan.onOk !== undefined) return plan.onOk(body);
  return null;
}
