/**
 * Where a decoding step's time goes: the median wall time of each kind of onnxruntime call the decode
 * loop makes, at the context length of a real held-out multimodal prompt.
 *
 *   pnpm exec tsx --conditions=@msd/source packages/msd/bench/profile-calls.ts [--threads T] [--draft-threads T] [--repeat N]
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { tinyLlavaDirectory } from '@msd/tiny-llava';
import { causalAttentionMask } from '@msd/core';
import { prefillDraftInputs } from '@msd/draft';
import { OnnxDraftRunner, OnnxTargetRunner, prepareInputs, readModelDirectory } from '@msd/models';
import { MsdPipeline } from 'msd';

const { values } = parseArgs({
  args: process.argv.slice(2).filter((arg) => arg !== '--'),
  options: {
    threads: { type: 'string', default: '2' },
    'draft-threads': { type: 'string' },
    repeat: { type: 'string', default: '200' },
    model: { type: 'string' },
  },
});
const repeat = Number(values.repeat);
const directory = values.model ?? tinyLlavaDirectory();
const { manifest } = readModelDirectory(directory);
const heldout = join(directory, '..', 'heldout');
const prompt = JSON.parse(readFileSync(join(heldout, 'prompts.jsonl'), 'utf8').split('\n')[0]!) as { question: string; images: string[] };

const pipeline = await MsdPipeline.create({ modelDirectory: directory, draft: false });
const inputs = await prepareInputs({
  tokenizer: pipeline.tokenizer,
  preprocessor: pipeline.preprocessor,
  messages: [{ role: 'user', content: [...prompt.images.map(() => ({ type: 'image' as const })), { type: 'text' as const, text: prompt.question }] }],
  images: prompt.images.map((image) => join(heldout, image)),
  imageTokensPerImage: manifest.imageTokensPerImage,
});
await pipeline.close();

const target = await OnnxTargetRunner.load(directory, manifest, { intraOpNumThreads: Number(values.threads) });
const draft = await OnnxDraftRunner.load(directory, manifest.drafts[manifest.defaultDraft ?? 'msd']!, manifest.hiddenSize, {
  intraOpNumThreads: Number(values['draft-threads'] ?? values.threads),
});

async function time(label: string, run: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 5; i++) await run();
  const samples: number[] = [];
  for (let i = 0; i < repeat; i++) {
    const started = performance.now();
    await run();
    samples.push(performance.now() - started);
  }
  samples.sort((a, b) => a - b);
  const median = samples[samples.length >> 1]!;
  console.log(
    `${label.padEnd(44)} median ${median.toFixed(3)} ms  p10 ${samples[Math.floor(samples.length * 0.1)]!.toFixed(3)}  p90 ${samples[Math.floor(samples.length * 0.9)]!.toFixed(3)}`,
  );
  return median;
}

const length = inputs.ids.length;
const features = inputs.pixelValues ? await target.encodeImages(inputs.pixelValues.data, inputs.pixelValues.dims) : undefined;
const prefill = await target.prefill(inputs.ids, inputs.tags, features);
console.log(`context: ${length} positions, threads ${values.threads}, draft threads ${values['draft-threads'] ?? values.threads}`);

const d = manifest.hiddenSize;
await time('vision encoder (1 image)', () => target.encodeImages(inputs.pixelValues!.data, inputs.pixelValues!.dims));
await time('embed session, 1 token', () => target.embed([5]));
for (const count of [1, 2, 4, 6, 8, 12]) {
  const tokenEmbeds = new Float32Array(count * d).fill(0.01);
  const positions = Array.from({ length: count }, (_, i) => length + i);
  await time(`target forward, ${count} new`, async () =>
    (await target.forwardEmbeddings(prefill.cache, tokenEmbeds, positions, causalAttentionMask(length, count))).cache.dispose(),
  );
}
const draftPrefill = await draft.run(
  draft.emptyCache(),
  prefillDraftInputs({ ids: [...inputs.ids, 5], tags: inputs.tags, targetHidden: prefill.hidden, imageFeatures: features, hiddenSize: d }),
);
await time(`draft prefill, ${length} positions`, async () =>
  (
    await draft.run(
      draft.emptyCache(),
      prefillDraftInputs({ ids: [...inputs.ids, 5], tags: inputs.tags, targetHidden: prefill.hidden, imageFeatures: features, hiddenSize: d }),
    )
  ).cache.dispose(),
);
for (const count of [1, 2, 4, 6]) {
  const past = draftPrefill.cache.length;
  const input = {
    inputIds: Int32Array.from({ length: count }, () => 5),
    hiddenStates: new Float32Array(count * d).fill(0.01),
    imageEmbeds: undefined,
    imageMask: undefined,
    positionIds: Int32Array.from({ length: count }, (_, i) => past + i),
    attentionMask: causalAttentionMask(past, count),
  };
  await time(`draft step, ${count} new`, async () => (await draft.run(draftPrefill.cache, input)).cache.dispose());
}
await time('KV compaction (target, keep all but 3)', async () => {
  const grown = await target.forwardEmbeddings(
    prefill.cache,
    new Float32Array(6 * d).fill(0.01),
    Array.from({ length: 6 }, (_, i) => length + i),
    causalAttentionMask(length, 6),
  );
  const indices = Int32Array.from({ length: length + 3 }, (_, i) => i);
  const next = await grown.cache.compact(indices);
  grown.cache.dispose();
  next.dispose();
});
await target.close();
await draft.close();
