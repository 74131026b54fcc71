/**
 * Drafts an EAGLE-2 dynamic token tree with @msd/draft and prints it.
 *
 * A real drafter is the MSD draft ONNX graph behind an onnxruntime session (the `msd` package wires
 * that up); here a tiny deterministic bigram "drafter" implements the same `DraftRunner` interface so
 * the example runs anywhere, without a model. The prompt has one image, whose patches enter the
 * draft as raw projector outputs (MSD's decoupling).
 *
 * Run from the repository root:
 *   npx tsx --conditions=@msd/source examples/draft-tree.ts
 */
import { TokenTypeCode, type TokenTypeTags } from '@msd/core';
import { draftRootFromOutput, draftTree, prefillDraftInputs, updateDraftInputs, type DraftRunner, type DraftStepOutput } from '@msd/draft';

const words = [
  '<pad>',
  '<s>',
  'USER:',
  '<image>',
  'What',
  'colour',
  'is',
  'the',
  'circle?',
  'ASSISTANT:',
  'The',
  'It',
  'A',
  'circle',
  'shape',
  'looks',
  'red',
  'blue',
  'green',
  '.',
  'round',
];
const id = (word: string): number => words.indexOf(word);

// Next-word probabilities of the toy drafter (anything else: "." is likely).
const bigrams: Record<string, [string, number][]> = {
  The: [
    ['circle', 0.6],
    ['colour', 0.3],
    ['shape', 0.1],
  ],
  It: [
    ['is', 0.8],
    ['looks', 0.15],
    ['.', 0.05],
  ],
  circle: [
    ['is', 0.85],
    ['looks', 0.1],
    ['.', 0.05],
  ],
  colour: [
    ['is', 0.9],
    ['looks', 0.05],
    ['.', 0.05],
  ],
  shape: [
    ['is', 0.7],
    ['looks', 0.2],
    ['.', 0.1],
  ],
  is: [
    ['red', 0.5],
    ['blue', 0.3],
    ['round', 0.2],
  ],
  looks: [
    ['red', 0.6],
    ['round', 0.3],
    ['blue', 0.1],
  ],
};
const fallback: [string, number][] = [
  ['.', 0.7],
  ['The', 0.2],
  ['It', 0.1],
];

/** A DraftRunner whose cache is just its length; candidates depend only on the input token. */
const hiddenSize = 4;
const runner: DraftRunner<number> = {
  hiddenSize,
  candidatesPerRow: 3,
  cacheLength: (cache) => cache,
  disposeCache: () => {},
  emptyCache: () => 0,
  run: async (cache, input) => {
    const rows = input.inputIds.length;
    const output: DraftStepOutput = {
      hidden: new Float32Array(rows * hiddenSize),
      topkLogprobs: new Float32Array(rows * 3),
      topkIds: new Int32Array(rows * 3),
    };
    for (let row = 0; row < rows; row++) {
      const word = input.imageMask?.[row] === 1 ? '<image>' : words[input.inputIds[row]!]!;
      (bigrams[word] ?? fallback).forEach(([next, probability], k) => {
        output.topkIds[row * 3 + k] = id(next);
        output.topkLogprobs[row * 3 + k] = Math.log(probability);
      });
    }
    return { output, cache: cache + rows };
  },
};

// The prompt as the target processed it: one image of 4 patches, then the question.
const prompt = ['<s>', 'USER:', '<image>', '<image>', '<image>', '<image>', 'What', 'colour', 'is', 'the', 'circle?', 'ASSISTANT:'];
const n = prompt.length;
const tags: TokenTypeTags = {
  types: Uint8Array.from(prompt, (word, i) => (i === 0 ? TokenTypeCode.special : word === '<image>' ? TokenTypeCode.image : TokenTypeCode.text)),
  imageIndex: Int32Array.from(prompt, (word) => (word === '<image>' ? 0 : -1)),
  patchIndex: Int32Array.from(prompt, (word, i) => (word === '<image>' ? i - 2 : -1)),
  imageSpans: [{ start: 2, length: 4, imageIndex: 0 }],
};
const firstToken = id('The'); // the target's first generated token: the root
const imageFeatures = Float32Array.from({ length: 4 * hiddenSize }, (_, i) => Math.sin(i));
const targetHidden = new Float32Array(n * hiddenSize); // f_0..f_(n-1) from the target's prefill

const prefill = prefillDraftInputs({ ids: [...prompt.map(id), firstToken], tags, targetHidden, imageFeatures, hiddenSize });
console.log(
  `draft prefill: ${n} rows, image rows ${Array.from(prefill.imageMask ?? [])
    .flatMap((m, i) => (m ? [i] : []))
    .join(',')}`,
);
const { output, cache } = await runner.run(0, prefill);
const root = draftRootFromOutput(runner, output, firstToken);

const { tree, stats } = await draftTree(runner, cache, root, { depth: 4, branching: 3, totalTokens: 10 });
console.log(`draft calls: ${stats.draftCalls}, nodes per depth: ${stats.nodesPerDepth.join(' ')}`);
const print = (node: number): void => {
  const score = node === 0 ? '' : ` (p=${Math.exp(tree.scores[node]!).toFixed(3)})`;
  console.log(`${'  '.repeat(tree.depths[node]!)}${words[tree.tokens[node]!]}${score}`);
  for (let child = node + 1; child < tree.tokens.length; child++) if (tree.parents[child] === node) print(child);
};
print(0);

// Suppose the target accepts "circle is" and its bonus token is "red": commit them to the draft.
const update = updateDraftInputs({
  committedLength: cache,
  tokens: [id('circle'), id('is'), id('red')],
  targetHidden: new Float32Array(3 * hiddenSize),
  hiddenSize,
});
console.log(`update: positions ${Array.from(update.positionIds).join(',')}, tokens ${Array.from(update.inputIds, (t) => words[t]).join(' ')}`);
