// A compact set of strings for the checkers' long memories (every key ID ever retired): each member is
// kept as a 64-bit FNV-1a hash in open-addressed typed arrays, 16 bytes a member at most. A false "has"
// needs a 64-bit collision: about one in 10^5 runs that retire 20 million keys.
export class IdSet {
  // Small at first (a world reset makes several): it doubles as members come.
  private hi = new Uint32Array(1 << 6);
  private lo = new Uint32Array(1 << 6);
  private count = 0;

  get size(): number {
    return this.count;
  }

  add(id: string): void {
    if ((this.count + 1) * 2 > this.hi.length) this.grow();
    hash64(id);
    if (this.insert(hashHi, hashLo)) this.count += 1;
  }

  has(id: string): boolean {
    hash64(id);
    const h = hashHi;
    const l = hashLo;
    const mask = this.hi.length - 1;
    for (let i = l & mask; ; i = (i + 1) & mask) {
      const slotHi = this.hi[i] as number;
      const slotLo = this.lo[i] as number;
      if (slotHi === 0 && slotLo === 0) return false;
      if (slotHi === h && slotLo === l) return true;
    }
  }

  private insert(h: number, l: number): boolean {
    const mask = this.hi.length - 1;
    for (let i = l & mask; ; i = (i + 1) & mask) {
      const slotHi = this.hi[i] as number;
      const slotLo = this.lo[i] as number;
      if (slotHi === 0 && slotLo === 0) {
        this.hi[i] = h;
        this.lo[i] = l;
        return true;
      }
      if (slotHi === h && slotLo === l) return false;
    }
  }

  private grow(): void {
    const oldHi = this.hi;
    const oldLo = this.lo;
    this.hi = new Uint32Array(oldHi.length * 2);
    this.lo = new Uint32Array(oldLo.length * 2);
    for (let i = 0; i < oldHi.length; i++) {
      const h = oldHi[i] as number;
      const l = oldLo[i] as number;
      if (h !== 0 || l !== 0) this.insert(h, l);
    }
  }
}

// The last hash64, in two 32-bit halves: two numbers, not an array allocated per call.
let hashHi = 0;
let hashLo = 0;

/** FNV-1a over UTF-16 code units, 64 bits in two 32-bit halves; never (0, 0), which marks an empty slot. */
function hash64(text: string): void {
  // 64-bit FNV offset basis 0xcbf29ce484222325 and prime 0x100000001b3, multiplied in 16-bit limbs.
  let h0 = 0x2325;
  let h1 = 0x8422;
  let h2 = 0x9ce4;
  let h3 = 0xcbf2;
  for (let i = 0; i < text.length; i++) {
    h0 ^= text.charCodeAt(i);
    const t0 = h0 * 0x1b3;
    const t1 = h1 * 0x1b3;
    const t2 = h2 * 0x1b3 + (h0 << 8);
    const t3 = h3 * 0x1b3 + (h1 << 8);
    const c1 = t1 + (t0 >>> 16);
    const c2 = t2 + (c1 >>> 16);
    h0 = t0 & 0xffff;
    h1 = c1 & 0xffff;
    h2 = c2 & 0xffff;
    h3 = (t3 + (c2 >>> 16)) & 0xffff;
  }
  const hi = ((h3 << 16) | h2) >>> 0;
  const lo = ((h1 << 16) | h0) >>> 0;
  hashHi = hi;
  hashLo = hi === 0 && lo === 0 ? 1 : lo;
}
