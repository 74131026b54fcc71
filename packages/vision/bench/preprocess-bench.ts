/**
 * Throughput of the @msd/vision pipeline vs the PIL reference over the fixture images.
 *
 *   npx tsx --conditions=@msd/source packages/vision/bench/preprocess-bench.ts [--rounds 5] [--no-large]
 *
 * Both sides get the encoded bytes in memory and time only the preprocessing
 * (Python's timing is measured inside the interpreter, excluding startup and imports).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { ImagePreprocessor, type Resampler } from '@msd/vision';
import { ensureFixture, imagePath, llavaConfigPath, repoRoot } from '../test/fixture';

const args = process.argv.slice(2);
const rounds = Number(args[args.indexOf('--rounds') + 1]) || 5;
const manifest = ensureFixture();
const images = manifest.images.filter((image) => !(args.includes('--no-large') && image.width * image.height > 4_000_000));
const paths = images.map(imagePath);
const blobs = paths.map((path) => readFileSync(path));

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function timeTs(resampler: Resampler, concurrency: number): Promise<number> {
  const preprocessor = await ImagePreprocessor.load(llavaConfigPath, { resampler, concurrency });
  await preprocessor.preprocess(blobs[0]!); // warm-up: loads sharp
  const times: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const start = performance.now();
    if (concurrency === 1) for (const blob of blobs) await preprocessor.preprocess(blob);
    else await preprocessor.preprocessBatch(blobs);
    times.push((performance.now() - start) / 1000);
  }
  return blobs.length / median(times);
}

function timePython(): number {
  const python = process.env.MSD_PYTHON ?? '/usr/bin/python3';
  const script = join(repoRoot, 'training', 'msd_training', 'image_reference.py');
  const out = execFileSync(python, [script, '--config', llavaConfigPath, '--bench', String(rounds), ...paths], { encoding: 'utf8' });
  return (JSON.parse(out.trim().split('\n').pop()!) as { images_per_second: number }).images_per_second;
}

const totalMp = images.reduce((sum, image) => sum + image.width * image.height, 0) / 1e6;
console.log(`${images.length} images (${totalMp.toFixed(1)} MP in total), LLaVA-1.5 config, ${rounds} rounds, medians; ${availableParallelism()} CPUs`);
const python = timePython();
const rows: [string, number][] = [
  ['TS sequential, resampler auto', await timeTs('auto', 1)],
  ['TS sequential, resampler pil', await timeTs('pil', 1)],
  ['TS preprocessBatch, concurrency 4, resampler auto', await timeTs('auto', 4)],
  ['Python reference (PIL + numpy, sequential)', python],
];
console.log('| pipeline | images/s | vs Python |');
console.log('|---|---:|---:|');
for (const [name, rate] of rows) console.log(`| ${name} | ${rate.toFixed(2)} | ${(rate / python).toFixed(2)}x |`);
