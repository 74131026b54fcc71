/**
 * What one verification step accepted: the path through the draft tree that the target agrees with,
 * and the bonus token the target contributes after it. The step emits `acceptedTokens` followed by
 * `bonusToken`, so it always yields at least one token; the bonus token is the root of the next tree.
 *
 * @example
 * ```ts
 * import { acceptGreedy } from '@msd/verifier';
 *
 * const { acceptedNodes, acceptedTokens, bonusToken } = acceptGreedy(tree, targetArgmax);
 * const emitted = [...acceptedTokens, bonusToken];
 * const newPastLength = pastLength + acceptedNodes.length;
 * ```
 */
export interface Acceptance {
  /** Accepted node indices along one root-to-node path, root (0) first; what the KV cache keeps. */
  acceptedNodes: Int32Array;
  /** The drafted tokens accepted, in order (the tokens of `acceptedNodes` without the root). */
  acceptedTokens: Int32Array;
  /** The token the target emits after the last accepted node. */
  bonusToken: number;
}

/** Builds an {@link Acceptance} from the last accepted node by walking its parents. @internal */
export function acceptanceFromNode(tokens: Int32Array, parents: Int32Array, last: number, bonusToken: number): Acceptance {
  let length = 0;
  for (let node = last; node >= 0; node = parents[node]!) length++;
  const acceptedNodes = new Int32Array(length);
  for (let node = last, index = length - 1; node >= 0; node = parents[node]!, index--) acceptedNodes[index] = node;
  const acceptedTokens = new Int32Array(length - 1);
  for (let index = 1; index < length; index++) acceptedTokens[index - 1] = tokens[acceptedNodes[index]!]!;
  return { acceptedNodes, acceptedTokens, bonusToken };
}
