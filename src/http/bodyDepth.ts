// How deep a request body may nest. No request of the API needs more than a few levels (a key request's
// extensions are objects of options), while a body of ~8 KB can nest thousands deep and then break every
// recursive reader after the parser: the trace, the journal's serializer, the schema. Bodies are refused
// past MAX_BODY_DEPTH right after parsing, on the fast path and in Express alike (400, errorTable.ts).

export const MAX_BODY_DEPTH = 32;

/** Whether `value` nests arrays and objects more than `max` levels deep (iterative: no recursion to overflow). */
export function nestsDeeperThan(value: unknown, max: number): boolean {
  const stack: Array<{ readonly value: unknown; readonly depth: number }> = [{ value, depth: 0 }];
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    if (typeof top.value !== 'object' || top.value === null) continue;
    const depth = top.depth + 1;
    if (depth > max) return true;
    for (const child of Array.isArray(top.value) ? top.value : Object.values(top.value)) {
      if (typeof child === 'object' && child !== null) stack.push({ value: child, depth });
    }
  }
  return false;
}
