/**
 * Preprocesses one image for LLaVA-1.5 (CLIP ViT-L/14-336, pad to square) and
 * prints the tensor shape and per-channel mean/std.
 *
 *   npx tsx --conditions=@msd/source examples/vision-preprocess.ts [image] [preprocessor_config.json or model dir]
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ImagePreprocessor } from '@msd/vision';

const here = dirname(fileURLToPath(import.meta.url));
const image = process.argv[2] ?? join(here, 'assets', 'example.png');
const config = process.argv[3] ?? join(here, '..', 'packages', 'vision', 'test', 'fixtures', 'llava-preprocessor_config.json');

const preprocessor = await ImagePreprocessor.load(config);
const { data, dims } = await preprocessor.preprocess(image);
console.log(`image: ${image}`);
console.log(`dims:  [${dims.join(', ')}]`);

const plane = dims[2] * dims[3];
for (const [channel, name] of ['R', 'G', 'B'].entries()) {
  const values = data.subarray(channel * plane, (channel + 1) * plane);
  const mean = values.reduce((sum, v) => sum + v, 0) / plane;
  const std = Math.sqrt(values.reduce((sum, v) => sum + (v - mean) ** 2, 0) / plane);
  console.log(`${name}: mean ${mean.toFixed(4)}  std ${std.toFixed(4)}`);
}
