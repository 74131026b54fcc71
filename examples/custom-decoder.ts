/**
 * A complete greedy MSD decoder built from msd's parts, without MsdPipeline: the ONNX runners and
 * inputs of @msd/models, the draft state of @msd/draft, greedy acceptance of @msd/verifier. Each step
 * drafts a tree, verifies it in one target call and keeps the longest path the target agrees with.
 * It checks its tokens against MsdPipeline's and exits 1 if they differ (CI runs it).
 *
 *   pnpm exec tsx --conditions=@msd/source examples/custom-decoder.ts
 */
import { fileURLToPath } from 'node:url';
import { DraftState } from '@msd/draft';
import { OnnxDraftRunner, OnnxTargetRunner, prepareInputs, readModelDirectory } from '@msd/models';
import { tinyLlavaDirectory } from '@msd/tiny-llava';
import { Tokenizer } from '@msd/tokenizer';
import { acceptGreedy, argmax, argmaxPerRow, compactionIndices, selectRows, treeAttentionMask, treePositionIds } from '@msd/verifier';
import { ImagePreprocessor } from '@msd/vision';
import { MsdPipeline } from 'msd';

const directory = tinyLlavaDirectory();
const image = fileURLToPath(new URL('assets/scene.png', import.meta.url));
const question = 'Describe the image.';
const { manifest } = readModelDirectory(directory);
const { vocabSize, hiddenSize, eosTokenId } = manifest;
const target = await OnnxTargetRunner.load(directory, manifest, { intraOpNumThreads: 2 });
const draft = await OnnxDraftRunner.load(directory, manifest.drafts.msd!, hiddenSize, { intraOpNumThreads: 2 });
const inputs = await prepareInputs({
  tokenizer: await Tokenizer.fromDirectory(directory),
  preprocessor: await ImagePreprocessor.load(`${directory}/preprocessor_config.json`),
  imageTokensPerImage: manifest.imageTokensPerImage,
  messages: [{ role: 'user', content: [{ type: 'image' }, { type: 'text', text: question }] }],
  images: [image],
});

// Prefill: the target over the prompt (image positions take the projected patches), then the draft.
const imageFeatures = await target.encodeImages(inputs.pixelValues!.data, inputs.pixelValues!.dims);
// `logits: 'last'`: only the last position's row, which is all the first token needs.
const prefill = await target.prefill(inputs.ids, inputs.tags, imageFeatures, { logits: 'last' });
let cache = prefill.cache;
const tokens = [argmax(prefill.logits)];
const state = await DraftState.start(draft, draft.emptyCache(), { ...inputs, targetHidden: prefill.hidden, imageFeatures, firstToken: tokens[0]! });

while (tokens.length < 48 && !tokens.includes(eosTokenId)) {
  const past = cache.length;
  const { tree } = await state.draft({ depth: 5, branching: 1, totalTokens: 5, stopTokenIds: [eosTokenId] });
  const verified = await target.forward(cache, tree.tokens, treePositionIds(tree, past), treeAttentionMask(tree, past));
  const { acceptedNodes, acceptedTokens, bonusToken } = acceptGreedy(tree, argmaxPerRow(verified.logits, vocabSize));
  target.disposeCache(cache);
  cache = await target.compact(verified.cache, compactionIndices(acceptedNodes, past));
  const step = [...acceptedTokens, bonusToken];
  tokens.push(...step);
  await state.commit(past, step, selectRows(verified.hidden, acceptedNodes, hiddenSize));
}
const answer = tokens.slice(0, 48).filter((_, index, all) => !all.slice(0, index + 1).includes(eosTokenId));
target.disposeCache(cache);
state.dispose();
await Promise.all([target.close(), draft.close()]);

const pipeline = await MsdPipeline.create({ session: { intraOpNumThreads: 2 } });
const expected = await pipeline.generate({ prompt: question, images: [image], maxNewTokens: 48 });
await pipeline.close();
console.log(`custom decoder: ${answer.length} tokens: ${pipeline.tokenizer.decode(answer)}`);
const same = JSON.stringify(answer) === JSON.stringify(expected.tokenIds);
console.log(same ? 'identical to MsdPipeline' : `DIFFERENT from MsdPipeline: ${JSON.stringify(expected.tokenIds)}`);
process.exitCode = same ? 0 : 1;
