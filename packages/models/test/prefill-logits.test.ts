import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError, lastLogitsRow } from '@msd/core';
import { OnnxTargetRunner, prepareInputs, readModelDirectory } from '@msd/models';
import { tinyLlavaDirectory } from '@msd/tiny-llava';
import { Tokenizer } from '@msd/tokenizer';
import { ImagePreprocessor } from '@msd/vision';

const image = fileURLToPath(new URL('../../../examples/assets/scene.png', import.meta.url));
const runners: OnnxTargetRunner[] = [];
afterAll(async () => {
  for (const runner of runners) await runner.close();
});

function argmax(row: Float32Array): number {
  let best = 0;
  for (let index = 1; index < row.length; index++) if (row[index]! > row[best]!) best = index;
  return best;
}

describe("prefill({ logits: 'last' })", () => {
  it('returns the last row of the full prefill, and the same hidden states and cache', async () => {
    const { path, manifest } = readModelDirectory(tinyLlavaDirectory());
    expect(manifest.graphs.decoder.inputs.map((input) => input.name)).toContain('logits_rows');
    const target = await OnnxTargetRunner.load(path, manifest, { intraOpNumThreads: 2 });
    runners.push(target);
    const inputs = await prepareInputs({
      tokenizer: await Tokenizer.fromDirectory(path),
      preprocessor: await ImagePreprocessor.load(path),
      imageTokensPerImage: manifest.imageTokensPerImage,
      messages: [{ role: 'user', content: [{ type: 'image' }, { type: 'text', text: 'Describe the image in detail.' }] }],
      images: [image],
    });
    const features = await target.encodeImages(inputs.pixelValues!.data, inputs.pixelValues!.dims);
    const all = await target.prefill(inputs.ids, inputs.tags, features);
    const last = await target.prefill(inputs.ids, inputs.tags, features, { logits: 'last' });
    const length = inputs.ids.length;
    const vocab = manifest.vocabSize;
    expect(all.logits.length).toBe(length * vocab);
    expect(last.logits.length).toBe(vocab);
    const expected = lastLogitsRow(all, vocab);
    let worst = 0;
    for (let index = 0; index < vocab; index++) worst = Math.max(worst, Math.abs(expected[index]! - last.logits[index]!));
    // One row through the projection may sum in another order than 165 rows do.
    expect(worst).toBeLessThan(1e-4);
    expect(argmax(last.logits)).toBe(argmax(expected));
    expect(last.hidden).toEqual(all.hidden);
    expect(last.cache.length).toBe(length);
    for (const cache of [all.cache, last.cache]) target.disposeCache(cache);
  });
});

describe('lastLogitsRow', () => {
  it('takes the last row of one or many, and refuses a length that is not whole rows', () => {
    const rows = Float32Array.from([1, 2, 3, 4, 5, 6]);
    expect(Array.from(lastLogitsRow({ logits: rows }, 3))).toEqual([4, 5, 6]);
    expect(Array.from(lastLogitsRow({ logits: rows.subarray(3) }, 3))).toEqual([4, 5, 6]);
    expect(() => lastLogitsRow({ logits: rows }, 4)).toThrow(InvalidArgumentError);
    expect(() => lastLogitsRow({ logits: new Float32Array(0) }, 3)).toThrow(/not whole rows of 3/);
  });
});
