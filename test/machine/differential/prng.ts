// A small seeded PRNG (mulberry32): the same seed gives the same cases on every machine.

export class Prng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Uniform 32-bit unsigned integer. */
  u32(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Integer in [lo, hi] inclusive. */
  int(lo: number, hi: number): number {
    return lo + (this.u32() % (hi - lo + 1));
  }

  bool(pTrue = 0.5): boolean {
    return this.u32() / 0x100000000 < pTrue;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.u32() % items.length]!;
  }

  /** A value biased towards the edges where flag bugs live (0, 1, sign bits, all ones). */
  interesting32(): number {
    switch (this.int(0, 9)) {
      case 0:
        return this.pick([0, 1, 0xffffffff, 0x7fffffff, 0x80000000, 0x80000001, 0xfffffffe, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff]);
      case 1:
        return this.int(0, 16);
      case 2:
        return (0x100000000 - this.int(1, 16)) >>> 0;
      case 3:
        return (1 << this.int(0, 31)) >>> 0;
      default:
        return this.u32();
    }
  }
}
