/**
 * Checks the transformers.js baseline against msd before any speed comparison is trusted: on held-out
 * prompts (by default 4 single-image, 3 two-image, 3 text-only), transformers.js's greedy generate() on
 * the exported directory must build the same prompt ids as msd's tokenizer and produce the same tokens
 * as msd's own autoregressive greedy decoding of the bundled model (same weights). Prints identical
 * counts and both methods' tokens per second; exits 1 if a prompt or its tokens differ.
 *
 *   training/run.sh export-transformersjs --from-bundle packages/tiny-llava/model --run /tmp/tjs   # from the committed bundle
 *   pnpm exec tsx --conditions=@msd/source packages/msd/bench/check-transformers-js.ts \
 *     --model-dir /tmp/tjs/model-transformersjs [--msd-model DIR] [--per-set 4,3,3] [--max-new-tokens 48] [--threads 2]
 *     [--tjs-session msd|defaults]
 *
 * A second transformers.js instance runs with transformers.js's own image processor (no LLaVA
 * pad-to-square); its counts show what that preprocessing difference alone changes.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { tinyLlavaDirectory } from '@msd/tiny-llava';
import { prepareInputs } from '@msd/models';
import { MsdPipeline } from 'msd';
import { loadTransformersJsBaseline, type TransformersJsResult } from 'msd/transformers-js';

const { values } = parseArgs({
  args: process.argv.slice(2).filter((arg) => arg !== '--'),
  options: {
    'model-dir': { type: 'string' },
    'msd-model': { type: 'string' },
    'per-set': { type: 'string', default: '4,3,3' },
    'max-new-tokens': { type: 'string', default: '48' },
    threads: { type: 'string', default: '2' },
    'tjs-session': { type: 'string', default: 'msd' },
  },
});
if (!values['model-dir']) {
  console.error('--model-dir <directory exported by `training/run.sh export-transformersjs`> is required');
  process.exit(2);
}

interface HeldoutPrompt {
  set: 'multimodal' | 'two-image' | 'text-only';
  question: string;
  images: string[];
}

const msdDirectory = values['msd-model'] ?? tinyLlavaDirectory();
const heldout = join(msdDirectory, '..', 'heldout');
const all = readFileSync(join(heldout, 'prompts.jsonl'), 'utf8')
  .trim()
  .split('\n')
  .map((line) => JSON.parse(line) as HeldoutPrompt);
const counts = values['per-set'].split(',').map(Number);
const prompts = (['multimodal', 'two-image', 'text-only'] as const).flatMap((set, index) =>
  all.filter((prompt) => prompt.set === set).slice(0, counts[index] ?? 0),
);
const maxNewTokens = Number(values['max-new-tokens']);
const threads = Number(values.threads);

const pipeline = await MsdPipeline.create({ modelDirectory: msdDirectory, draft: false, session: { intraOpNumThreads: threads } });
// 'msd': the session settings msd runs with (worker threads never spin idle), so the two timings
// differ by decoding code only; 'defaults': onnxruntime's defaults, as a transformers.js user gets them.
const sessionOptions = values['tjs-session'] === 'msd' ? { extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } } } : {};
const baseline = await loadTransformersJsBaseline(values['model-dir'], { threads, sessionOptions });
const ownPreprocessing = await loadTransformersJsBaseline(values['model-dir'], { threads, sessionOptions, imagePreprocessing: 'transformers.js' });

const imagePaths = (prompt: HeldoutPrompt) => prompt.images.map((image) => join(heldout, image));
const runMsd = async (prompt: HeldoutPrompt) => {
  const started = performance.now();
  const result = await pipeline.generate({ prompt: prompt.question, images: imagePaths(prompt), maxNewTokens, speculative: false });
  return { tokenIds: result.tokenIds, seconds: (performance.now() - started) / 1000, decodeTokensPerSecond: result.stats.decodeTokensPerSecond };
};
const msdPromptIds = async (prompt: HeldoutPrompt) => {
  const messages = [
    { role: 'user' as const, content: [...prompt.images.map(() => ({ type: 'image' as const })), { type: 'text' as const, text: prompt.question }] },
  ];
  const inputs = await prepareInputs({
    tokenizer: pipeline.tokenizer,
    preprocessor: pipeline.preprocessor,
    imageTokensPerImage: pipeline.target.manifest.imageTokensPerImage,
    messages,
    images: imagePaths(prompt),
  });
  return Array.from(inputs.ids);
};
const same = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((value, index) => value === b[index]);
const median = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

// Warm-up: the first runs allocate onnxruntime arenas and compile the JavaScript.
await runMsd(prompts[0]!);
await baseline.generate(prompts[0]!.question, imagePaths(prompts[0]!), maxNewTokens);

type Row = {
  prompt: HeldoutPrompt;
  msd: Awaited<ReturnType<typeof runMsd>>;
  tjs: TransformersJsResult;
  promptIdsSame: boolean;
  processorIdsSame: boolean;
  ownPreprocessingSame: boolean | undefined;
};
const rows: Row[] = [];
for (const [index, prompt] of prompts.entries()) {
  const msdIds = await msdPromptIds(prompt);
  const processorIdsSame = same(msdIds, await baseline.processorPromptIds(prompt.question, imagePaths(prompt)));
  // Alternate the order so neither method always runs second on a warm cache.
  let msd: Row['msd'];
  let tjs: TransformersJsResult;
  if (index % 2 === 0) {
    msd = await runMsd(prompt);
    tjs = await baseline.generate(prompt.question, imagePaths(prompt), maxNewTokens);
  } else {
    tjs = await baseline.generate(prompt.question, imagePaths(prompt), maxNewTokens);
    msd = await runMsd(prompt);
  }
  const own = prompt.images.length > 0 ? await ownPreprocessing.generate(prompt.question, imagePaths(prompt), maxNewTokens) : undefined;
  const row: Row = {
    prompt,
    msd,
    tjs,
    promptIdsSame: same(msdIds, tjs.promptIds),
    processorIdsSame,
    ownPreprocessingSame: own ? same(own.tokenIds, msd.tokenIds) : undefined,
  };
  rows.push(row);
  console.log(
    `${String(index).padStart(2)} ${prompt.set.padEnd(10)} prompt ids ${row.promptIdsSame ? 'same' : 'DIFFER'} (processor path ${processorIdsSame ? 'same' : 'differs'}), ` +
      `tokens ${same(msd.tokenIds, tjs.tokenIds) ? 'identical' : 'DIFFER'} (${msd.tokenIds.length} msd / ${tjs.tokenIds.length} transformers.js), ` +
      `msd ${(msd.tokenIds.length / msd.seconds).toFixed(1)} tok/s, transformers.js ${(tjs.tokenIds.length / tjs.seconds).toFixed(1)} tok/s` +
      (own ? `; own preprocessing: tokens ${row.ownPreprocessingSame ? 'identical' : 'differ'}` : ''),
  );
  if (!same(msd.tokenIds, tjs.tokenIds)) console.log(`     msd: ${msd.tokenIds.join(' ')}\n     tjs: ${tjs.tokenIds.join(' ')}`);
}
await Promise.all([pipeline.close(), baseline.dispose(), ownPreprocessing.dispose()]);

const identical = rows.filter((row) => same(row.msd.tokenIds, row.tjs.tokenIds)).length;
const promptSame = rows.filter((row) => row.promptIdsSame).length;
const processorSame = rows.filter((row) => row.processorIdsSame).length;
const withImages = rows.filter((row) => row.ownPreprocessingSame !== undefined);
const total = (pick: (row: Row) => { tokenIds: number[]; seconds: number }) => {
  const tokens = rows.reduce((sum, row) => sum + pick(row).tokenIds.length, 0);
  return (tokens / rows.reduce((sum, row) => sum + pick(row).seconds, 0)).toFixed(1);
};
console.log(
  `\nprompts: ${rows.length} (${values['per-set']} multimodal/two-image/text-only), max new tokens ${maxNewTokens}, threads ${threads}, transformers.js session options: ${values['tjs-session']}`,
);
console.log(`prompt ids identical to msd's: ${promptSame}/${rows.length} (LlavaProcessor's own path: ${processorSame}/${rows.length})`);
console.log(`generated tokens identical (msd pixel values): ${identical}/${rows.length}`);
console.log(
  `generated tokens identical with transformers.js's own image preprocessing: ${withImages.filter((row) => row.ownPreprocessingSame).length}/${withImages.length} image prompts`,
);
console.log(
  `msd autoregressive: ${total((row) => row.msd)} tok/s end to end, median decode ${median(rows.map((row) => row.msd.decodeTokensPerSecond)).toFixed(1)} tok/s`,
);
console.log(
  `transformers.js:    ${total((row) => row.tjs)} tok/s end to end, median decode ${median(rows.map((row) => row.tjs.decodeTokensPerSecond)).toFixed(1)} tok/s`,
);
process.exit(identical === rows.length && promptSame === rows.length ? 0 : 1);
