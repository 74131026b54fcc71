/**
 * Multimodal speculative decoding of the bundled tiny LLaVA: stream an answer about an image, then print
 * the statistics.
 *
 *   pnpm exec tsx --conditions=@msd/source examples/generate.ts [image] [question]
 */
import { fileURLToPath } from 'node:url';
import { MsdPipeline } from 'msd';

const image = process.argv[2] ?? fileURLToPath(new URL('assets/scene.png', import.meta.url));
const question = process.argv[3] ?? 'Describe the image in detail.';

const pipeline = await MsdPipeline.create({ session: { intraOpNumThreads: 2 } });
const stream = pipeline.stream({ prompt: question, images: [image], maxNewTokens: 160 });
process.stdout.write(`${question}\n> `);
for await (const delta of stream) process.stdout.write(delta);
const { stats } = await stream.result;
console.log(`\ntokens ${stats.tokens}, target steps ${stats.steps}, tau ${stats.tau.toFixed(2)}, ${stats.decodeTokensPerSecond.toFixed(0)} tokens/s`);
await pipeline.close();
