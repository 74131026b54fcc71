import type { DraftTree } from '@msd/core';

/** Builds a DraftTree from parents and tokens (depths derived, scores 0). */
export function makeTree(parents: number[], tokens: number[]): DraftTree {
  const depths = new Int32Array(parents.length);
  for (let node = 1; node < parents.length; node++) depths[node] = depths[parents[node]!]! + 1;
  return {
    tokens: Int32Array.from(tokens),
    parents: Int32Array.from(parents),
    depths,
    scores: new Float32Array(parents.length),
  };
}

/**
 * A fixed test tree:
 *
 *   0 (root, token 10)
 *   ├─ 1 (token 11)
 *   │   ├─ 3 (token 13)
 *   │   │   └─ 5 (token 15)
 *   │   └─ 4 (token 14)
 *   └─ 2 (token 12)
 *       └─ 6 (token 16)
 */
export const sampleTree = makeTree([-1, 0, 0, 1, 1, 3, 2], [10, 11, 12, 13, 14, 15, 16]);
