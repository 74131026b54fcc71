import { InvalidArgumentError } from '@msd/core';

/**
 * Options of {@link SeededRandom}.
 *
 * @example
 * ```ts
 * import { SeededRandom } from '@msd/verifier';
 * import type { SeededRandomOptions } from '@msd/verifier';
 *
 * const options: SeededRandomOptions = { seed: 2024 };
 * const random = new SeededRandom(options);
 * ```
 */
export interface SeededRandomOptions {
  /**
   * Seed: any safe integer (both its low and high 32 bits are mixed into the state). The same seed
   * gives the same sequence. Without a seed, one is drawn from `Math.random()`.
   */
  seed?: number;
}

/**
 * A small, fast, seedable pseudo-random source (xoshiro128**, seeded through splitmix32) that the
 * sampling functions draw from. Share one instance across a generation so that a seed reproduces it.
 * Not for cryptography.
 *
 * @example
 * ```ts
 * import { SeededRandom } from '@msd/verifier';
 *
 * const random = new SeededRandom({ seed: 42 });
 * random.nextFloat(); // in [0, 1)
 * ```
 */
export class SeededRandom {
  /** The seed this source started from (useful to log and reproduce a run). */
  readonly seed: number;
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(options: SeededRandomOptions = {}) {
    const seed = options.seed ?? Math.floor(Math.random() * 2 ** 32);
    if (!Number.isSafeInteger(seed)) {
      throw new InvalidArgumentError({ argument: 'seed', message: `seed must be a safe integer, got ${seed}.` });
    }
    this.seed = seed;
    // splitmix32 over both halves of the seed fills the 128-bit state; it is never all zero.
    let state = (seed >>> 0) ^ Math.imul(Math.floor(seed / 2 ** 32) >>> 0, 0x9e3779b9);
    const next = (): number => {
      state = (state + 0x9e3779b9) | 0;
      let z = state;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
  }

  /**
   * The random source of one output position of a generation: a generator seeded from `seed` and
   * `position` alone. Decoding that draws each token's randomness from its position produces the same
   * tokens for the same seed however the tokens were reached (one target step each, or several
   * accepted from a draft tree in one step), so a seed makes sampling reproducible even when the
   * speculation policy changes the steps between runs.
   *
   * @example
   * ```ts
   * import { SeededRandom } from '@msd/verifier';
   *
   * const third = SeededRandom.forPosition(7, 2).nextFloat(); // the same on every run
   * ```
   */
  static forPosition(seed: number, position: number): SeededRandom {
    if (!Number.isSafeInteger(seed)) throw new InvalidArgumentError({ argument: 'seed', message: `seed must be a safe integer, got ${seed}.` });
    if (!Number.isSafeInteger(position) || position < 0) {
      throw new InvalidArgumentError({ argument: 'position', message: `position must be a non-negative integer, got ${position}.` });
    }
    const low = mix32((seed >>> 0) ^ mix32(position >>> 0));
    const high = mix32(low ^ (Math.floor(seed / 2 ** 32) >>> 0) ^ mix32(Math.floor(position / 2 ** 32) + 0x632be5ab));
    return new SeededRandom({ seed: (high & 0x1fffff) * 2 ** 32 + low });
  }

  /**
   * The next 32-bit unsigned integer.
   *
   * @example
   * ```ts
   * new SeededRandom({ seed: 1 }).nextUint32(); // an integer in [0, 2^32)
   * ```
   */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /**
   * The next float, uniform in [0, 1), with 53 random bits.
   *
   * @example
   * ```ts
   * const accept = new SeededRandom({ seed: 1 }).nextFloat() < 0.25;
   * ```
   */
  nextFloat(): number {
    const high = this.nextUint32() >>> 5; // 27 bits
    const low = this.nextUint32() >>> 6; // 26 bits
    return (high * 67108864 + low) / 9007199254740992;
  }
}

/** A 32-bit finaliser (murmur3's): nearby inputs give unrelated outputs. */
function mix32(value: number): number {
  let z = Math.imul(value ^ (value >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

function rotl(value: number, shift: number): number {
  return (value << shift) | (value >>> (32 - shift));
}
