import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, TokenTypeCode, countTokenTypes } from '@msd/core';
import { Tokenizer, ImageCountMismatchError } from '@msd/tokenizer';
import { ImagePreprocessor } from '@msd/vision';
import { prepareInputs } from '@msd/models';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const tokenizerDir = `${root}packages/tokenizer/test/fixtures/sp-bpe`;
const preprocessorPath = `${root}packages/vision/test/fixtures/llava-preprocessor_config.json`;
const image = `${root}examples/assets/example.png`;

describe('prepareInputs', () => {
  it('expands, tags and preprocesses two images placed anywhere in the prompt', async () => {
    const tokenizer = await Tokenizer.fromDirectory(tokenizerDir);
    const preprocessor = await ImagePreprocessor.load(preprocessorPath);
    const inputs = await prepareInputs({
      tokenizer,
      preprocessor,
      imageTokensPerImage: 16,
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'First ' },
            { type: 'image' },
            { type: 'text', text: 'then ' },
            { type: 'image' },
            { type: 'text', text: 'compare.' },
          ],
        },
      ],
      images: [image, image],
    });
    expect(countTokenTypes(inputs.tags).image).toBe(32);
    expect(inputs.tags.imageSpans.map((span) => span.imageIndex)).toEqual([0, 1]);
    const [first, second] = inputs.tags.imageSpans;
    expect(second!.start).toBeGreaterThan(first!.start + first!.length); // text between the images
    for (const span of inputs.tags.imageSpans) {
      for (let position = span.start; position < span.start + span.length; position++) {
        expect(inputs.tags.types[position]).toBe(TokenTypeCode.image);
        expect(inputs.ids[position]).toBe(tokenizer.imageTokenId);
        expect(inputs.tags.patchIndex[position]).toBe(position - span.start);
      }
    }
    expect(inputs.pixelValues?.dims).toEqual([2, 3, 336, 336]);
  });

  it('prepares a text-only prompt without a preprocessor', async () => {
    const tokenizer = await Tokenizer.fromDirectory(tokenizerDir);
    const inputs = await prepareInputs({ tokenizer, imageTokensPerImage: 16, messages: [{ role: 'user', content: 'Hello there.' }] });
    expect(inputs.pixelValues).toBeUndefined();
    expect(countTokenTypes(inputs.tags).image).toBe(0);
    expect(tokenizer.decode(Array.from(inputs.ids), { skipSpecialTokens: true })).toContain('Hello there.');
  });

  it('rejects images without a preprocessor and placeholder/image count mismatches with typed errors', async () => {
    const tokenizer = await Tokenizer.fromDirectory(tokenizerDir);
    const messages = [{ role: 'user' as const, content: [{ type: 'image' as const }, { type: 'text' as const, text: 'Hi' }] }];
    await expect(prepareInputs({ tokenizer, imageTokensPerImage: 4, messages, images: [image] })).rejects.toSatisfy(InvalidArgumentError.isInstance);
    await expect(prepareInputs({ tokenizer, imageTokensPerImage: 4, messages, images: [] })).rejects.toSatisfy(ImageCountMismatchError.isInstance);
  });
});

describe('msd entry', () => {
  const probe = (body: string) =>
    execFileSync(
      process.execPath,
      [
        '--import',
        'tsx',
        '--conditions=@msd/source',
        '--input-type=module',
        '-e',
        `import { createRequire } from 'node:module'; ${body}; const r = createRequire(import.meta.url); console.log(Object.keys(r.cache).some((k) => k.includes('/sharp/')));`,
      ],
      { cwd: `${root}packages/msd`, encoding: 'utf8' },
    ).trim();

  it('imports without loading sharp', () => {
    expect(probe("await import('msd')")).toBe('false');
  });

  it('and so do @msd/models and msd/bench, until an image is preprocessed', () => {
    expect(probe("await import('@msd/models')")).toBe('false');
    expect(probe("await import('msd/bench')")).toBe('false');
  });

  it('loads sharp once an image is preprocessed (the probe can tell)', () => {
    expect(
      probe(
        `const { ImagePreprocessor } = await import('@msd/vision'); await (await ImagePreprocessor.load(${JSON.stringify(preprocessorPath)})).preprocess(${JSON.stringify(image)})`,
      ),
    ).toBe('true');
  });
});
