/**
 * Autoregressive vs MSD decoding of the bundled tiny LLaVA, side by side on the same held-out prompts,
 * interleaved so machine noise hits both alike. Prints tokens per second (decode phase), the median
 * per-prompt speedup, tau and the time split.
 *
 *   pnpm exec tsx --conditions=@msd/source packages/msd/bench/decode-bench.ts [--set multimodal|two-image|text-only|all]
 *     [--limit N] [--rounds R] [--threads T] [--max-new-tokens N] [--depth D --top-k K --total-tokens N] [--temperature T]
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { tinyLlavaDirectory } from '@msd/tiny-llava';
import { MsdPipeline, type GenerateResult } from 'msd';

const { values } = parseArgs({
  args: process.argv.slice(2).filter((arg) => arg !== '--'),
  options: {
    set: { type: 'string', default: 'multimodal' },
    limit: { type: 'string', default: '20' },
    rounds: { type: 'string', default: '3' },
    threads: { type: 'string', default: '2' },
    'max-new-tokens': { type: 'string', default: '48' },
    depth: { type: 'string' },
    'top-k': { type: 'string' },
    'total-tokens': { type: 'string' },
    temperature: { type: 'string', default: '0' },
    model: { type: 'string' },
  },
});

const median = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

const modelDirectory = values.model ?? tinyLlavaDirectory();
const heldout = join(modelDirectory, '..', 'heldout');
const prompts = readFileSync(join(heldout, 'prompts.jsonl'), 'utf8')
  .trim()
  .split('\n')
  .map((line) => JSON.parse(line) as { set: string; question: string; images: string[] })
  .filter((prompt) => values.set === 'all' || prompt.set === values.set)
  .slice(0, Number(values.limit));
const tree = {
  ...(values.depth ? { depth: Number(values.depth) } : {}),
  ...(values['top-k'] ? { topK: Number(values['top-k']) } : {}),
  ...(values['total-tokens'] ? { totalTokens: Number(values['total-tokens']) } : {}),
};
const pipeline = await MsdPipeline.create({ modelDirectory, session: { intraOpNumThreads: Number(values.threads) }, tree });
const maxNewTokens = Number(values['max-new-tokens']);
const temperature = Number(values.temperature);

// Warm-up: first runs allocate arenas and JIT the JavaScript.
for (const speculative of [false, true]) await pipeline.generate({ prompt: prompts[0]!.question, images: prompts[0]!.images.map((image) => join(heldout, image)), maxNewTokens, speculative });

const rows: Array<{ ar: GenerateResult; msd: GenerateResult }> = [];
let mismatches = 0;
for (let round = 0; round < Number(values.rounds); round++) {
  for (const [index, prompt] of prompts.entries()) {
    const options = { prompt: prompt.question, images: prompt.images.map((image) => join(heldout, image)), maxNewTokens, temperature, seed: index };
    // Alternate the order so neither method always runs on a warmer cache.
    const order = (round + index) % 2 === 0 ? [false, true] : [true, false];
    const results: Record<string, GenerateResult> = {};
    for (const speculative of order) results[String(speculative)] = await pipeline.generate({ ...options, speculative });
    const ar = results.false!;
    const msd = results.true!;
    if (temperature === 0 && JSON.stringify(ar.tokenIds) !== JSON.stringify(msd.tokenIds)) mismatches++;
    rows.push({ ar, msd });
  }
}
await pipeline.close();

const rate = (result: GenerateResult) => result.stats.decodeTokensPerSecond;
const ratios = rows.map((row) => rate(row.msd) / rate(row.ar));
const sum = (pick: (row: { ar: GenerateResult; msd: GenerateResult }) => number) => rows.reduce((total, row) => total + pick(row), 0);
const split = (key: 'vision' | 'prefill' | 'draft' | 'verify' | 'overhead', which: 'ar' | 'msd') => (sum((row) => row[which].stats.timings[key]) / rows.length).toFixed(1);
console.log(`prompts: ${prompts.length} (${values.set}), rounds: ${values.rounds}, max new tokens: ${maxNewTokens}, temperature: ${temperature}, threads: ${values.threads}, tree: ${JSON.stringify(pipeline.treeShape)}`);
console.log(`autoregressive: median ${median(rows.map((row) => rate(row.ar))).toFixed(1)} tok/s`);
console.log(`msd:            median ${median(rows.map((row) => rate(row.msd))).toFixed(1)} tok/s, tau median ${median(rows.map((row) => row.msd.stats.tau)).toFixed(2)} (mean ${(sum((row) => row.msd.stats.tau) / rows.length).toFixed(2)})`);
console.log(`speedup: median ${median(ratios).toFixed(2)}x (min ${Math.min(...ratios).toFixed(2)}, max ${Math.max(...ratios).toFixed(2)})`);
console.log(`mean ms per generation  AR: draft ${split('draft', 'ar')} verify ${split('verify', 'ar')} overhead ${split('overhead', 'ar')} | MSD: draft ${split('draft', 'msd')} verify ${split('verify', 'msd')} overhead ${split('overhead', 'msd')}`);
if (temperature === 0) {
  console.log(`greedy outputs identical: ${rows.length - mismatches}/${rows.length}`);
  if (mismatches) process.exitCode = 1;
}
