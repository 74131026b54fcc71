import { InvalidArgumentError } from '@msd/core';
import type { DraftTree } from '@msd/core';
import { acceptanceFromNode } from './acceptance';
import type { Acceptance } from './acceptance';
import { processLogits } from './logits-processor';
import type { SamplingOptions } from './logits-processor';
import { drawFrom } from './sampling';
import type { SeededRandom } from './seeded-random';
import { assertDraftTree } from './validate';

/**
 * Lossless tree verification for sampling (T > 0): the emitted tokens are distributed exactly as if
 * the target had sampled them one by one with the same {@link SamplingOptions}.
 *
 * Starting at the root, the target's processed distribution `p` at the current node (see
 * {@link processLogits}) is checked against the node's children in tree order (the draft's
 * deterministic candidates): child `x` is accepted with probability `p(x)` under the current residual
 * distribution; on rejection `p(x)` is set to 0 and `p` renormalised. An accepted child becomes the
 * current node. When every child is rejected, the bonus token is drawn from the residual; at a leaf it
 * is drawn from the leaf's full processed distribution (temperature, top-k and top-p included).
 * Only the rows of the nodes walked through are processed.
 *
 * @param tree - The draft tree (node 0 = root = last accepted token).
 * @param logits - The target's logits for every tree node, row-major `[T, vocab]` (the `[1, T, vocab]`
 *   output of the verification forward).
 * @param options - Temperature (> 0), top-k, top-p.
 * @param random - The random source; share one per generation.
 * @throws InvalidDraftTreeError when the tree is malformed; InvalidArgumentError for bad options,
 *   logits whose length is not a multiple of the node count, or a drafted token outside the vocabulary.
 *
 * @example
 * ```ts
 * import { SeededRandom, acceptSampling } from '@msd/verifier';
 *
 * const random = new SeededRandom({ seed: 1 });
 * const { acceptedNodes, acceptedTokens, bonusToken } = acceptSampling(tree, targetLogits, { temperature: 0.7, topP: 0.9 }, random);
 * ```
 */
export function acceptSampling(tree: DraftTree, logits: Float32Array, options: SamplingOptions, random: SeededRandom): Acceptance {
  assertDraftTree(tree);
  const size = tree.tokens.length;
  if (logits.length === 0 || logits.length % size !== 0) {
    throw new InvalidArgumentError({
      argument: 'logits',
      message: `logits of length ${logits.length} do not hold one row per tree node (${size} nodes).`,
      hint: 'Pass the target logits of every tree node, row-major [nodes, vocab].',
    });
  }
  const vocabSize = logits.length / size;
  for (let node = 1; node < size; node++) {
    const token = tree.tokens[node]!;
    if (token < 0 || token >= vocabSize) {
      throw new InvalidArgumentError({
        argument: 'tree',
        message: `node ${node} drafts token ${token}, outside the vocabulary of ${vocabSize}.`,
      });
    }
  }

  const probabilities = new Float32Array(vocabSize);
  let current = 0;
  for (;;) {
    processLogits(logits.subarray(current * vocabSize, (current + 1) * vocabSize), options, probabilities);
    let mass = 0;
    for (let index = 0; index < vocabSize; index++) mass += probabilities[index]!;
    let next = -1;
    let lastRejected = -1;
    for (let child = current + 1; child < size && next < 0; child++) {
      if (tree.parents[child] !== current) continue;
      const token = tree.tokens[child]!;
      const probability = probabilities[token]!;
      if (probability <= 0) continue;
      if (probability >= mass || random.nextFloat() * mass < probability) {
        next = child;
      } else {
        mass -= probability;
        probabilities[token] = 0;
        lastRejected = token;
      }
    }
    if (next < 0) return acceptanceFromNode(tree.tokens, tree.parents, current, drawBonus(probabilities, lastRejected, random));
    current = next;
  }
}

/**
 * Draws the bonus token from the residual. Rejecting every token of the support is impossible in exact
 * arithmetic (the last one is accepted with probability 1); should rounding still leave no mass, the last
 * rejected token is the only one the residual can have been meant to hold.
 */
function drawBonus(residual: Float32Array, lastRejected: number, random: SeededRandom): number {
  let total = 0;
  for (let index = 0; index < residual.length; index++) total += residual[index]!;
  if (total > 0) return drawFrom(residual, total, random);
  return lastRejected;
}
