/**
 * One greedy verification step of speculative decoding, by hand: a small draft tree, its tree attention
 * mask and position ids for the target forward, greedy acceptance against (made-up) target argmax
 * predictions, and the KV positions to keep afterwards. Then the same tree verified by sampling.
 *
 * Run from the repository root:
 *   npx tsx --conditions=@msd/source examples/verifier-greedy.ts
 */
import { blockedAttention, gatherSequence, type DraftTree } from '@msd/core';
import { SeededRandom, acceptGreedy, acceptSampling, compactionIndices, treeAttentionMask, treePaths, treePositionIds } from '@msd/verifier';

// Node 0 is the root: the last accepted token (id 100). Parents come before children.
//   0:100 ─ 1:201 ─ 3:301 ─ 5:401
//         │       └ 4:302
//         └ 2:202 ─ 6:303
const parents = [-1, 0, 0, 1, 1, 3, 2];
const tokens = [100, 201, 202, 301, 302, 401, 303];
const depths = parents.map(function depth(parent): number {
  return parent < 0 ? 0 : depth(parents[parent]!) + 1;
});
const tree: DraftTree = {
  tokens: Int32Array.from(tokens),
  parents: Int32Array.from(parents),
  depths: Int32Array.from(depths),
  scores: Float32Array.from([0, -0.2, -1.7, -0.5, -1.1, -0.9, -2.3]),
};
const pastLength = 4; // positions already in the KV cache
const size = tree.tokens.length;

console.log(
  'paths:',
  treePaths(tree)
    .map((path) => path.join('→'))
    .join('  '),
);

const mask = treeAttentionMask(tree, pastLength); // feed as [1, 1, T, past + T]
console.log(`attention mask [${size}, ${pastLength + size}] (· = may attend, x = masked):`);
for (let row = 0; row < size; row++) {
  const cells = Array.from(mask.subarray(row * (pastLength + size), (row + 1) * (pastLength + size)), (v) => (v === blockedAttention ? 'x' : '·'));
  console.log(`  node ${row}: ${cells.slice(0, pastLength).join('')} | ${cells.slice(pastLength).join(' ')}`);
}
console.log('position ids:', Array.from(treePositionIds(tree, pastLength)).join(', '));

// What the target predicts AFTER each node (argmax of its logits): it agrees with 201, then 301, not 401.
const targetArgmax = Int32Array.from([201, 301, 999, 402, 0, 7, 0]);
const greedy = acceptGreedy(tree, targetArgmax);
console.log('accepted nodes:', Array.from(greedy.acceptedNodes).join(', '));
console.log('emitted tokens:', [...greedy.acceptedTokens, greedy.bonusToken].join(', '), '(bonus last)');

const keep = compactionIndices(greedy.acceptedNodes, pastLength);
console.log('KV positions to keep:', Array.from(keep).join(', '), `-> new past length ${keep.length}`);

// Compact a [1, 2 heads, past + T, 4] key cache in place.
const heads = 2;
const headDim = 4;
const key = Float32Array.from({ length: heads * (pastLength + size) * headDim }, (_, i) => Math.floor(i / headDim) % (pastLength + size));
const compacted = gatherSequence(key, [1, heads, pastLength + size, headDim], keep, key);
console.log('compacted key positions (head 0):', Array.from({ length: keep.length }, (_, s) => compacted[s * headDim]).join(', '));

// The same tree verified by lossless sampling at temperature 0.7 with made-up logits (vocabulary 1000).
const vocab = 1000;
const logits = new Float32Array(size * vocab);
for (let node = 0; node < size; node++) logits[node * vocab + targetArgmax[node]!] = 6;
const sampled = acceptSampling(tree, logits, { temperature: 0.7, topP: 0.9 }, new SeededRandom({ seed: 1 }));
console.log('sampled: emitted', [...sampled.acceptedTokens, sampled.bonusToken].join(', '));
