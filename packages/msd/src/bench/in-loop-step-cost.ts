/** One shape's calibration decodes: what a step cost inside the decoding loop, and what it held. */
export interface MeasuredStep {
  /** Verification cost of the step's nodes from the isolated curve (`costAt(verifyCost, nodes + 1)`). */
  isolatedVerifyMs: number;
  /** Draft rounds per step after the update (the effective depth minus 1). */
  rounds: number;
  /** Measured milliseconds per step (draft calls, verification and the loop's own work). */
  milliseconds: number;
  /** Steps the measurement averages; the weight of this shape in the fit. */
  steps: number;
}

/**
 * Step cost inside the decoding loop: `verifyScale * isolatedVerifyMs + perStepMs + perRoundMs * rounds`.
 * `perStepMs` holds the draft's update after each verification, which runs on caches the target's
 * weights have just flushed (on the 2-core CPU a draft call costs about twice as much right after a
 * target call), and the loop's own work; `perRoundMs` is one draft round of a chain.
 */
export interface InLoopStepCost {
  /** In-loop verification over isolated verification. */
  verifyScale: number;
  /** Milliseconds every step pays once. */
  perStepMs: number;
  /** Milliseconds per draft round. */
  perRoundMs: number;
}

/**
 * Fits {@link InLoopStepCost} to the calibration decodes of every candidate shape by weighted least
 * squares. Costs measured call by call in isolation underrate what a step costs inside the loop, and not
 * by one factor: the first draft call after a verification pays for cold caches, later rounds do not,
 * so isolated prices favour shallow trees. One fit over all shapes keeps the noise of any one shape's
 * timing out of the ranking, while the tau of each shape stays its own, exactly measured. Returns
 * `undefined` when the shapes cannot determine the three costs (fewer than four, no spread in depth or
 * nodes) or the fit is not physical (a negative cost).
 *
 * @example
 * ```ts
 * import { fitInLoopStepCost } from 'msd/bench';
 *
 * const fit = fitInLoopStepCost([
 *   { isolatedVerifyMs: 3, rounds: 1, milliseconds: 5.2, steps: 40 },
 *   { isolatedVerifyMs: 3.2, rounds: 3, milliseconds: 6.4, steps: 30 },
 *   { isolatedVerifyMs: 3.6, rounds: 7, milliseconds: 8.9, steps: 20 },
 *   { isolatedVerifyMs: 4, rounds: 2, milliseconds: 6.8, steps: 35 },
 * ]);
 * fit?.perRoundMs; // about 0.6
 * ```
 */
export function fitInLoopStepCost(measured: readonly MeasuredStep[]): InLoopStepCost | undefined {
  const usable = measured.filter((point) => point.steps > 0 && Number.isFinite(point.milliseconds));
  if (usable.length < 4) return undefined;
  // Normal equations of y = v * x1 + a + r * x2, weighted by steps.
  const sums = Array.from({ length: 3 }, () => [0, 0, 0, 0]);
  for (const { isolatedVerifyMs, rounds, milliseconds, steps } of usable) {
    const row = [isolatedVerifyMs, 1, rounds];
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 3; j++) sums[i]![j]! += steps * row[i]! * row[j]!;
      sums[i]![3]! += steps * row[i]! * milliseconds;
    }
  }
  const solution = solve3(sums);
  if (!solution) return undefined;
  const [verifyScale, perStepMs, perRoundMs] = solution;
  if (!(verifyScale! > 0) || !(perStepMs! >= 0) || !(perRoundMs! >= 0)) return undefined;
  return { verifyScale: verifyScale!, perStepMs: perStepMs!, perRoundMs: perRoundMs! };
}

/** Gaussian elimination with partial pivoting on a 3 x 4 augmented matrix; `undefined` if singular. */
function solve3(matrix: number[][]): number[] | undefined {
  const m = matrix.map((row) => [...row]);
  for (let column = 0; column < 3; column++) {
    let pivot = column;
    for (let row = column + 1; row < 3; row++) if (Math.abs(m[row]![column]!) > Math.abs(m[pivot]![column]!)) pivot = row;
    const scale = Math.max(...m.map((row) => Math.abs(row[column]!)));
    if (Math.abs(m[pivot]![column]!) <= 1e-9 * Math.max(scale, 1)) return undefined;
    [m[column], m[pivot]] = [m[pivot]!, m[column]!];
    for (let row = 0; row < 3; row++) {
      if (row === column) continue;
      const factor = m[row]![column]! / m[column]![column]!;
      for (let k = column; k < 4; k++) m[row]![k]! -= factor * m[column]![k]!;
    }
  }
  return m.map((row, index) => row[3]! / row[index]!);
}
