/**
 * Hardware-aware tree shape and a side-by-side benchmark, programmatically (what `msd tune` and
 * `msd bench` do): time this machine's target and draft calls, pick the tree shape with the best
 * predicted speed among a few, then time autoregressive and speculative decoding on held-out prompts
 * and write the report folder.
 *
 *   pnpm exec tsx --conditions=@msd/source examples/tune-and-bench.ts [out-dir]
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tinyLlavaDirectory } from '@msd/tiny-llava';
import { MsdPipeline } from 'msd';
import { heldoutPromptFile, readBenchmarkPrompts, runBenchmark, tuneTree, writeBenchmarkReport } from 'msd/bench';

const out = process.argv[2] ?? (await mkdtemp(join(tmpdir(), 'msd-bench-')));
const prompts = readBenchmarkPrompts(heldoutPromptFile(tinyLlavaDirectory())!);
const multimodal = prompts.filter((prompt) => prompt.set === 'multimodal').slice(0, 2);
const textOnly = prompts.filter((prompt) => prompt.set === 'text-only').slice(0, 1);

const pipeline = await MsdPipeline.create({ session: { intraOpNumThreads: 2 } });
const tuning = await tuneTree(pipeline, {
  prompts: multimodal.map((prompt) => ({ prompt: prompt.question, images: prompt.images })),
  maxNewTokens: 16,
  repeat: 5,
  candidates: [
    { depth: 3, branching: 2, totalTokens: 4 },
    { depth: 4, branching: 2, totalTokens: 6 },
  ],
});
await pipeline.close();
console.log(`tuned tree: ${JSON.stringify(tuning.chosen)} (predicted ${tuning.predictedSpeedup.toFixed(2)}x)`);

const report = await runBenchmark({ prompts: [...multimodal, ...textOnly], rounds: 1, maxNewTokens: 16, temperatures: [0], drafts: ['msd'], tuning });
for (const result of report.results)
  console.log(`${result.set} ${result.method}: ${result.tokensPerSecond.median.toFixed(0)} tok/s, ${result.ratioToFastestAutoregressive.toFixed(2)}x`);
const { files } = await writeBenchmarkReport(report, out);
console.log(`report: ${files.length} files in ${out}`);
