import type { DraftTree } from '@msd/core';
import { processLogits, sampleToken } from '@msd/verifier';
import type { Acceptance, SamplingOptions, SeededRandom } from '@msd/verifier';

/** How a deliberately wrong acceptance deviates from the lossless scheme (negative controls). */
export type Mistake =
  /** Accepts each later child with its original p(x) instead of p(x) under the renormalised residual. */
  | 'no-renormalisation'
  /** Draws the bonus at a fully accepted leaf from softmax(raw logits): no temperature, top-k, top-p. */
  | 'raw-leaf-bonus'
  /** Draws the bonus at a fully accepted leaf with temperature 1 (top-k, top-p kept): the reference code's slip. */
  | 'leaf-bonus-without-temperature';

/** The multi-candidate acceptance with one deliberate mistake, to show the chi-square tests catch it. */
export function wrongAcceptance(mistake: Mistake) {
  return (tree: DraftTree, logits: Float32Array, options: SamplingOptions, random: SeededRandom): Acceptance => {
    const size = tree.tokens.length;
    const vocab = logits.length / size;
    const row = (node: number) => logits.subarray(node * vocab, (node + 1) * vocab);
    const nodes = [0];
    let current = 0;
    for (;;) {
      const p = Float32Array.from(processLogits(row(current), options));
      let mass = 1;
      let next = -1;
      let hasChildren = false;
      for (let child = current + 1; child < size && next < 0; child++) {
        if (tree.parents[child] !== current) continue;
        hasChildren = true;
        const x = tree.tokens[child]!;
        const probability = mistake === 'no-renormalisation' ? p[x]! : p[x]! / mass;
        if (random.nextFloat() < probability) next = child;
        else {
          mass -= p[x]!;
          p[x] = 0;
        }
      }
      if (next < 0) {
        let bonus: number;
        if (!hasChildren && mistake === 'raw-leaf-bonus') {
          bonus = sampleToken(processLogits(row(current), { temperature: 1 }), random);
        } else if (!hasChildren && mistake === 'leaf-bonus-without-temperature') {
          bonus = sampleToken(processLogits(row(current), { ...options, temperature: 1 }), random);
        } else {
          bonus = sampleToken(p, random);
        }
        return {
          acceptedNodes: Int32Array.from(nodes),
          acceptedTokens: Int32Array.from(nodes.slice(1), (node) => tree.tokens[node]!),
          bonusToken: bonus,
        };
      }
      nodes.push(next);
      current = next;
    }
  };
}
