import { spread } from './spread';

/** What exact resizing costs against libvips on a benchmark's images (see {@link measureResizeCost}). */
export interface ResizeCost {
  /** Distinct images preprocessed. */
  images: number;
  /** Rounds each image was preprocessed with each resampler. */
  rounds: number;
  /** Median ms per image with the exact Pillow port (`resampler: 'pil'`, msd's default). */
  exactMs: number;
  /** Median ms per image with `resampler: 'auto'` (libvips when downscaling). */
  fastMs: number;
  /** Largest absolute difference between the two outputs, in normalised pixel units. */
  maxDifference: number;
}

/**
 * Preprocesses each image with the exact resampler and with libvips, interleaved, and reports the median
 * time per image of each and how far apart their pixel values are: the price of matching Hugging Face's
 * `CLIPImageProcessor` exactly.
 *
 * @example
 * ```ts
 * import { measureResizeCost } from 'msd/bench';
 *
 * const cost = await measureResizeCost('packages/tiny-llava/model', ['photo.jpg'], 3);
 * console.log(`${cost.exactMs.toFixed(1)} ms exact vs ${cost.fastMs.toFixed(1)} ms fast`);
 * ```
 */
export async function measureResizeCost(modelDirectory: string, images: readonly string[], rounds = 3): Promise<ResizeCost> {
  const { ImagePreprocessor } = await import('@msd/vision');
  const exact = await ImagePreprocessor.load(modelDirectory, { resampler: 'pil' });
  const fast = await ImagePreprocessor.load(modelDirectory, { resampler: 'auto' });
  const exactTimes: number[] = [];
  const fastTimes: number[] = [];
  let maxDifference = 0;
  for (let round = 0; round < rounds; round++) {
    for (const image of images) {
      let started = performance.now();
      const exactPixels = await exact.preprocess(image);
      exactTimes.push(performance.now() - started);
      started = performance.now();
      const fastPixels = await fast.preprocess(image);
      fastTimes.push(performance.now() - started);
      // The outputs are the same every round; compare them once.
      if (round > 0) continue;
      for (let index = 0; index < exactPixels.data.length; index++)
        maxDifference = Math.max(maxDifference, Math.abs(exactPixels.data[index]! - fastPixels.data[index]!));
    }
  }
  return { images: images.length, rounds, exactMs: spread(exactTimes).median, fastMs: spread(fastTimes).median, maxDifference };
}
