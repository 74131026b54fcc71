import { InvalidArgumentError } from '@msd/core';
import type { DraftTree } from '@msd/core';
import { acceptanceFromNode } from './acceptance';
import type { Acceptance } from './acceptance';
import type { SamplingOptions } from './logits-processor';
import { sampleFromLogits } from './sampling';
import type { SeededRandom } from './seeded-random';
import { assertDraftTree } from './validate';

/**
 * Lossless tree verification for sampling (T > 0) that is reproducible from a seed: each output
 * position draws its token from its own random source, so the tokens depend on the seed and the
 * target's distributions only, not on how many of them a draft tree happened to cover.
 *
 * Starting at the root, the target samples its own token at the current node from the processed
 * distribution `p` (temperature, top-k, top-p) with `randomAtDepth(depth + 1)`, the source of the
 * position that follows the node. When a child of the node drafted that token, the child is accepted
 * and becomes the current node; otherwise the sampled token is the bonus token. Every emitted token is
 * therefore exactly the target's own sample, so the output distribution is the target's. With the
 * draft's deterministic candidates, a child set `C` is left with probability `sum of p(x) over C`,
 * the same acceptance rate as the rejection scheme of {@link acceptSampling}.
 *
 * @param tree - The draft tree (node 0 = root = last accepted token).
 * @param logits - The target's logits for every tree node, row-major `[nodes, vocab]`.
 * @param options - Temperature (> 0), top-k, top-p.
 * @param randomAtDepth - The random source of the token `depth` positions after the root (depth >= 1);
 *   e.g. `(depth) => SeededRandom.forPosition(seed, produced + depth - 1)`.
 *
 * @example
 * ```ts
 * import { SeededRandom, acceptPositionCoupled } from '@msd/verifier';
 *
 * const produced = 12; // tokens emitted before this step
 * const acceptance = acceptPositionCoupled(tree, logits, { temperature: 0.8 }, (depth) => SeededRandom.forPosition(7, produced + depth - 1));
 * ```
 */
export function acceptPositionCoupled(
  tree: DraftTree,
  logits: Float32Array,
  options: SamplingOptions,
  randomAtDepth: (depth: number) => SeededRandom,
): Acceptance {
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
  const scratch = new Float32Array(vocabSize);
  let current = 0;
  for (;;) {
    const row = logits.subarray(current * vocabSize, (current + 1) * vocabSize);
    const token = sampleFromLogits(row, options, randomAtDepth(tree.depths[current]! + 1), scratch);
    let next = -1;
    for (let child = current + 1; child < size; child++) {
      if (tree.parents[child] === current && tree.tokens[child] === token) {
        next = child;
        break;
      }
    }
    if (next < 0) return acceptanceFromNode(tree.tokens, tree.parents, current, token);
    current = next;
  }
}
