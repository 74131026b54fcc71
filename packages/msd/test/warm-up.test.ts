import { afterAll, describe, expect, it } from 'vitest';
import { ImagePreprocessor } from '@msd/vision';
import { tinyLlavaDirectory } from '@msd/tiny-llava';
import { join } from 'node:path';
import { MsdPipeline } from 'msd';
import { greyPng } from '../src/warm-up';
import { heldoutPrompts } from './heldout-prompts';

const pipelines: MsdPipeline[] = [];
afterAll(async () => {
  for (const pipeline of pipelines) await pipeline.close();
});

describe('warm-up at load', () => {
  it('encodes a real PNG that the image preprocessor reads', async () => {
    const preprocessor = await ImagePreprocessor.load(join(tinyLlavaDirectory(), 'preprocessor_config.json'));
    const pixelValues = await preprocessor.preprocess(greyPng(16));
    expect(pixelValues.dims).toEqual([1, 3, 96, 96]);
    // Grey 128 everywhere, normalised per channel: every value of a channel is the same.
    const plane = 96 * 96;
    for (let channel = 0; channel < 3; channel++) {
      const values = new Set(pixelValues.data.subarray(channel * plane, (channel + 1) * plane));
      expect(values.size).toBe(1);
    }
  });

  it('runs every graph at create and leaves no state: the same answers, no speculation memory', async () => {
    const progress: string[] = [];
    const warm = await MsdPipeline.create({ session: { intraOpNumThreads: 2 }, onProgress: (message) => progress.push(message) });
    const cold = await MsdPipeline.create({ session: { intraOpNumThreads: 2 }, warmUp: false });
    pipelines.push(warm, cold);
    expect(progress).toContain('warming up');
    expect(warm.speculationMemory.recall({ temperature: 0, hasImages: true })).toBeUndefined();
    for (const prompt of heldoutPrompts().slice(0, 3)) {
      const options = { prompt: prompt.question, images: prompt.images, maxNewTokens: 24 };
      expect((await warm.generate(options)).tokenIds).toEqual((await cold.generate(options)).tokenIds);
    }
  });
});
