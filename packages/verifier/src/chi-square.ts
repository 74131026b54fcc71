/**
 * Chi-square goodness of fit: how msd's own tests check that sampling acceptance leaves the target's
 * distribution unchanged, exported so a custom decoder can be checked the same way.
 */

/**
 * ln Γ(x) for x > 0 (Lanczos, g = 7, n = 9; ~1e-15 relative).
 *
 * @example
 * ```ts
 * // logGamma is internal to @msd/verifier (not exported): used inside the package only.
 *
 * Math.exp(logGamma(5)); // 24
 * ```
 */
export function logGamma(x: number): number {
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012,
    9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  x -= 1;
  let sum = c[0]!;
  for (let i = 1; i < 9; i++) sum += c[i]! / (x + i);
  const t = x + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(sum);
}

/**
 * Regularised upper incomplete gamma Q(a, x) = Γ(a, x) / Γ(a) (series below a + 1, continued fraction above).
 *
 * @example
 * ```ts
 * // regularizedUpperGamma is internal to @msd/verifier (not exported): used inside the package only.
 *
 * regularizedUpperGamma(1, 2); // e^-2
 * ```
 */
export function regularizedUpperGamma(a: number, x: number): number {
  if (x <= 0) return 1;
  const logPrefactor = -x + a * Math.log(x) - logGamma(a);
  if (x < a + 1) {
    let term = 1 / a;
    let sum = term;
    for (let n = 1; n < 10_000; n++) {
      term *= x / (a + n);
      sum += term;
      if (Math.abs(term) < Math.abs(sum) * 1e-16) break;
    }
    return 1 - sum * Math.exp(logPrefactor);
  }
  // Lentz's continued fraction.
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 10_000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.exp(logPrefactor) * h;
}

/**
 * P(X >= statistic) for X ~ chi-square with `dof` degrees of freedom.
 *
 * @example
 * ```ts
 * import { chiSquareSurvival } from '@msd/verifier';
 *
 * chiSquareSurvival(3.84, 1); // about 0.05
 * ```
 */
export function chiSquareSurvival(statistic: number, dof: number): number {
  return regularizedUpperGamma(dof / 2, statistic / 2);
}

/**
 * Result of {@link chiSquareTest}.
 *
 * @example
 * ```ts
 * const { statistic, dof, pValue }: ChiSquareResult = chiSquareTest(counts, probabilities);
 * ```
 */
export interface ChiSquareResult {
  /** Pearson's statistic. */
  statistic: number;
  /** Degrees of freedom (bins after pooling, minus one). */
  dof: number;
  /** Probability of a statistic at least this large if the counts follow the probabilities. */
  pValue: number;
}

/**
 * Pearson chi-square goodness of fit of observed counts against expected probabilities. Categories with
 * expected count below `minExpected` are pooled into one bin; an observation in a category of
 * probability 0 gives p = 0.
 *
 * @example
 * ```ts
 * import { chiSquareTest } from '@msd/verifier';
 *
 * // 1,000 tokens drawn by a decoder vs the distribution it must follow.
 * const { pValue } = chiSquareTest(Float64Array.of(310, 490, 200), Float64Array.of(0.3, 0.5, 0.2));
 * if (pValue < 0.001) throw new Error('the decoder changes the distribution');
 * ```
 */
export function chiSquareTest(observed: ArrayLike<number>, probabilities: ArrayLike<number>, minExpected = 5): ChiSquareResult {
  let trials = 0;
  for (let i = 0; i < observed.length; i++) trials += observed[i]!;
  let statistic = 0;
  let bins = 0;
  let pooledObserved = 0;
  let pooledExpected = 0;
  for (let i = 0; i < observed.length; i++) {
    const expected = probabilities[i]! * trials;
    if (expected === 0) {
      if (observed[i]! > 0) return { statistic: Infinity, dof: 0, pValue: 0 };
      continue;
    }
    if (expected < minExpected) {
      pooledObserved += observed[i]!;
      pooledExpected += expected;
      continue;
    }
    statistic += (observed[i]! - expected) ** 2 / expected;
    bins++;
  }
  if (pooledExpected > 0) {
    statistic += (pooledObserved - pooledExpected) ** 2 / pooledExpected;
    bins++;
  }
  const dof = Math.max(1, bins - 1);
  return { statistic, dof, pValue: chiSquareSurvival(statistic, dof) };
}
