// The one fault schema: what can go wrong over time (the remote key manager offline, a link down, a KME
// restart, added latency, the next calls failing). Scenario files list faults in it; the simulator plays
// them in virtual time and the server on its own clock.
import { z } from 'zod';
import { durationSchema as duration } from './duration.js';

export const faultSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('remote-offline'), from: duration, to: duration }),
  z.strictObject({ type: z.literal('link-down'), from: duration, to: duration, link: z.string().optional() }),
  z.strictObject({ type: z.literal('kme-restart'), at: duration, kme: z.number().int().min(0).default(0), downtime: duration.default(0) }),
  z.strictObject({ type: z.literal('latency'), from: duration, to: duration, ms: z.number().int().min(0) }),
  z.strictObject({ type: z.literal('fail-next'), at: duration, count: z.number().int().min(1), status: z.union([z.literal(400), z.literal(401), z.literal(503), z.literal(500)]).default(503) }),
]);

export type Fault = z.output<typeof faultSchema>;
