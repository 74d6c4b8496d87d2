// Caps a chart series at a number of points without hiding how low a pool fell: each bucket of samples
// keeps its minimum and its maximum, in time order, so a dip to zero survives any amount of thinning.

export type Point = readonly [number, number];

export function downsamplePoints(points: ReadonlyArray<Point>, maxPoints: number): Point[] {
  if (maxPoints < 4) throw new Error(`downsamplePoints: maxPoints must be at least 4, got ${maxPoints}`);
  if (points.length <= maxPoints) return [...points];
  const first = points[0] as Point;
  const last = points[points.length - 1] as Point;
  // The first and last samples always stay, so the line starts and ends where the run did.
  const innerStart = 1;
  const innerEnd = points.length - 1;
  const buckets = Math.floor((maxPoints - 2) / 2);
  const out: Point[] = [first];
  for (let b = 0; b < buckets; b++) {
    const from = innerStart + Math.floor(((innerEnd - innerStart) * b) / buckets);
    const to = innerStart + Math.floor(((innerEnd - innerStart) * (b + 1)) / buckets);
    if (from >= to) continue;
    let minIndex = from;
    let maxIndex = from;
    for (let i = from + 1; i < to; i++) {
      const y = (points[i] as Point)[1];
      if (y < (points[minIndex] as Point)[1]) minIndex = i;
      if (y > (points[maxIndex] as Point)[1]) maxIndex = i;
    }
    const lower = Math.min(minIndex, maxIndex);
    const upper = Math.max(minIndex, maxIndex);
    out.push(points[lower] as Point);
    if (upper !== lower) out.push(points[upper] as Point);
  }
  out.push(last);
  return out;
}
