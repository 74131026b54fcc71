import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkImageInput, describeImageInput, ImagePreprocessor, ImageSourceError, ImageTooLargeError } from '@msd/vision';

// A Blob (or File) is an image input in both builds, so code that prepares images works unchanged in a page and in Node.

const configPath = fileURLToPath(new URL('../../tiny-llava/model/preprocessor_config.json', import.meta.url));
const png = readFileSync(fileURLToPath(new URL('../../tiny-llava/examples/scene.png', import.meta.url)));

describe('Blob inputs in Node', () => {
  it('give the tensor their bytes give', async () => {
    const preprocessor = await ImagePreprocessor.load(configPath);
    const fromBlob = await preprocessor.preprocessBatch([new Blob([png], { type: 'image/png' })]);
    expect(fromBlob.data).toEqual((await preprocessor.preprocessBatch([png])).data);
    expect(describeImageInput(new Blob([png]))).toBe(`<blob ${png.length} bytes>`);
  });

  it('are refused by size before they are read, and when empty', async () => {
    const preprocessor = await ImagePreprocessor.load(configPath, { limits: { maxBytes: 1000 } });
    await expect(preprocessor.preprocess(new Blob([png]))).rejects.toSatisfy(ImageTooLargeError.isInstance);
    expect(() => checkImageInput(new Blob([]), 2)).toThrow(/^Image 2 is an empty Blob/);
    let error: unknown;
    try {
      checkImageInput(new Blob([]));
    } catch (caught) {
      error = caught;
    }
    expect(ImageSourceError.isInstance(error)).toBe(true);
  });
});
