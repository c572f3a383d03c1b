// A small seeded PRNG (mulberry32) and the draws the scene generators need. Pure: the same seed gives
// the same sequence in Node and in a browser (32-bit integer maths only, no Math.random).

/** Uniform numbers in [0, 1) from a 32-bit seed (mulberry32). */
export class Rng {
  private state: number;

  constructor(seed: number) {
    // Mix the seed once so that neighbouring seeds (0, 1, 2, …) start far apart.
    this.state = hash32(seed >>> 0);
  }

  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) | 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform in [a, b). */
  uniform(a: number, b: number): number {
    return a + (b - a) * this.next();
  }

  /** Integer in [a, b] (both included). */
  int(a: number, b: number): number {
    return a + Math.floor(this.next() * (b - a + 1));
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)];
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** Approximately normal (Irwin–Hall of 4 uniforms), mean 0, standard deviation 1. */
  normal(): number {
    return (this.next() + this.next() + this.next() + this.next() - 2) * Math.sqrt(3);
  }
}

/** A 32-bit integer hash (lowbias32): decorrelates consecutive seeds. */
export function hash32(x: number): number {
  x = x >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

/** A uniform number in [0, 1) that depends only on (seed, salt): for decisions made before a scene's own draws. */
export function seedFraction(seed: number, salt: number): number {
  return hash32((hash32(seed) ^ Math.imul(salt | 0, 0x9e3779b9)) >>> 0) / 4294967296;
}
