import type { DraftTree } from '@msd/core';
import { SeededRandom, processLogits } from '@msd/verifier';
import type { Acceptance, SamplingOptions } from '@msd/verifier';
import { makeTree } from './trees';

/** Vocabulary of the synthetic models. */
export const vocab = 10;

/** The acceptance function under test (the package's, or a deliberately wrong variant). */
export type AcceptFunction = (tree: DraftTree, logits: Float32Array, options: SamplingOptions, random: SeededRandom) => Acceptance;

function hash(context: readonly number[], salt: number): number {
  let h = 2166136261 ^ salt;
  for (const token of context) h = Math.imul(h ^ (token + 1), 16777619);
  return h >>> 0;
}

/** A synthetic target: logits that depend on the whole context (spread ~ N(0, 1.25^2)-ish). */
export function targetLogits(context: readonly number[]): Float32Array {
  const random = new SeededRandom({ seed: hash(context, 1) });
  return Float32Array.from({ length: vocab }, () => (random.nextFloat() + random.nextFloat() + random.nextFloat() - 1.5) * 2.5);
}

/** A synthetic draft: the target's logits plus noise, so its top candidates often but not always match. */
function draftRanking(context: readonly number[]): number[] {
  const target = targetLogits(context);
  const random = new SeededRandom({ seed: hash(context, 2) });
  const noisy = Array.from(target, (value) => value + (random.nextFloat() - 0.5) * 5);
  return Array.from({ length: vocab }, (_, token) => token).sort((a, b) => noisy[b]! - noisy[a]!);
}

/**
 * Drafts a depth-3 tree for `context`:
 *
 *   root ─ c1 (the draft's top token; a leaf)
 *        ─ c2 (draft's 2nd) ─ g1 (top) ─ h1 (top)
 *                           ─ g2 (2nd)
 *        ─ c3 (the draft's LAST token: a deliberate mismatch) ─ g3 (top)
 *
 * and returns it with the target logits of every node (the verification forward).
 */
export function draftAndVerify(context: readonly number[]): { tree: DraftTree; logits: Float32Array } {
  const root = draftRanking(context);
  const c1 = root[0]!;
  const c2 = root[1]!;
  const c3 = root[vocab - 1]!;
  const afterC2 = draftRanking([...context, c2]);
  const g1 = afterC2[0]!;
  const g2 = afterC2[1]!;
  const h1 = draftRanking([...context, c2, g1])[0]!;
  const g3 = draftRanking([...context, c3])[0]!;
  const last = context[context.length - 1]!;
  const tree = makeTree([-1, 0, 0, 2, 3, 2, 0, 6], [last, c1, c2, g1, h1, g2, c3, g3]);
  const paths = [[], [c1], [c2], [c2, g1], [c2, g1, h1], [c2, g2], [c3], [c3, g3]];
  const logits = new Float32Array(paths.length * vocab);
  paths.forEach((path, node) => logits.set(targetLogits([...context, ...path]), node * vocab));
  return { tree, logits };
}

/**
 * Counts of the first emitted token, of the first two jointly (`a * vocab + b`), and of the number of
 * drafted tokens the first step accepted (0..3), over `trials` decoding runs.
 */
export function emittedCounts(
  accept: AcceptFunction,
  options: SamplingOptions,
  prompt: readonly number[],
  trials: number,
  seed: number,
): { first: Float64Array; pairs: Float64Array; acceptedLengths: number[] } {
  const random = new SeededRandom({ seed });
  const cache = new Map<string, { tree: DraftTree; logits: Float32Array }>();
  const verify = (context: readonly number[]) => {
    const key = context.join(',');
    let entry = cache.get(key);
    if (!entry) {
      entry = draftAndVerify(context);
      cache.set(key, entry);
    }
    return entry;
  };
  const first = new Float64Array(vocab);
  const pairs = new Float64Array(vocab * vocab);
  const acceptedLengths = [0, 0, 0, 0];
  for (let trial = 0; trial < trials; trial++) {
    const context = [...prompt];
    const emitted: number[] = [];
    while (emitted.length < 2) {
      const { tree, logits } = verify(context);
      const result = accept(tree, logits, options, random);
      if (emitted.length === 0) acceptedLengths[result.acceptedTokens.length]!++;
      const step = [...result.acceptedTokens, result.bonusToken];
      emitted.push(...step);
      context.push(...step);
    }
    first[emitted[0]!]!++;
    pairs[emitted[0]! * vocab + emitted[1]!]!++;
  }
  return { first, pairs, acceptedLengths };
}

/** The target's own distribution of the first token and of the first two tokens (sampled one by one). */
export function expectedDistributions(options: SamplingOptions, prompt: readonly number[]): { first: Float64Array; pairs: Float64Array } {
  const first = Float64Array.from(processLogits(targetLogits(prompt), options));
  const pairs = new Float64Array(vocab * vocab);
  for (let a = 0; a < vocab; a++) {
    if (first[a] === 0) continue;
    const second = processLogits(targetLogits([...prompt, a]), options);
    for (let b = 0; b < vocab; b++) pairs[a * vocab + b] = first[a]! * second[b]!;
  }
  return { first, pairs };
}
