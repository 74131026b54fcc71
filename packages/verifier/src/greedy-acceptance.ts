import { InvalidArgumentError } from '@msd/core';
import type { DraftTree } from '@msd/core';
import { acceptanceFromNode } from './acceptance';
import type { Acceptance } from './acceptance';
import { assertDraftTree } from './validate';

/**
 * Greedy (temperature 0) tree verification: accepts the longest root-to-node path whose every drafted
 * token equals the target's argmax at its parent; the bonus token is the target's argmax at the last
 * accepted node. Ties between equally long paths go to the one ending at the lower node index.
 *
 * @param tree - The draft tree (node 0 = root = last accepted token).
 * @param targetArgmax - The target's argmax after each node (one entry per node), e.g. from
 *   `argmaxPerRow(logits, vocabSize)`.
 * @throws InvalidDraftTreeError when the tree is malformed; InvalidArgumentError when `targetArgmax`
 *   does not have one entry per node.
 *
 * @example
 * ```ts
 * import { acceptGreedy, argmaxPerRow } from '@msd/verifier';
 *
 * const result = acceptGreedy(tree, argmaxPerRow(targetLogits, vocabSize));
 * console.log(result.acceptedTokens, result.bonusToken);
 * ```
 */
export function acceptGreedy(tree: DraftTree, targetArgmax: Int32Array): Acceptance {
  assertDraftTree(tree);
  const size = tree.tokens.length;
  if (targetArgmax.length !== size) {
    throw new InvalidArgumentError({
      argument: 'targetArgmax',
      message: `targetArgmax has ${targetArgmax.length} entries but the tree has ${size} nodes.`,
      hint: 'Pass the target argmax of every tree node, in node order.',
    });
  }
  const accepted = new Uint8Array(size);
  accepted[0] = 1;
  let last = 0;
  for (let node = 1; node < size; node++) {
    const parent = tree.parents[node]!;
    if (accepted[parent] === 1 && tree.tokens[node] === targetArgmax[parent]) {
      accepted[node] = 1;
      if (tree.depths[node]! > tree.depths[last]!) last = node;
    }
  }
  return acceptanceFromNode(tree.tokens, tree.parents, last, targetArgmax[last]!);
}
