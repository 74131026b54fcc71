/**
 * Everything before the first model call: the LLaVA prompt with an image, its expansion into image
 * positions with token-type tags, and the preprocessed pixel values.
 *
 *   pnpm exec tsx --conditions=@msd/source examples/prepare-inputs.ts
 */
import { fileURLToPath } from 'node:url';
import { countTokenTypes } from '@msd/core';
import { Tokenizer } from '@msd/tokenizer';
import { ImagePreprocessor } from '@msd/vision';
import { prepareInputs } from '@msd/models';

const path = (relative: string) => fileURLToPath(new URL(relative, import.meta.url));

const inputs = await prepareInputs({
  tokenizer: await Tokenizer.fromDirectory(path('../packages/tokenizer/test/fixtures/sp-bpe')),
  preprocessor: await ImagePreprocessor.load(path('../packages/vision/test/fixtures/llava-preprocessor_config.json')),
  imageTokensPerImage: 576,
  messages: [{ role: 'user', content: [{ type: 'image' }, { type: 'text', text: 'What colour is the circle?' }] }],
  images: [path('assets/example.png')],
});
console.log('positions:', inputs.ids.length, countTokenTypes(inputs.tags));
console.log('image spans:', inputs.tags.imageSpans);
console.log('pixel values:', inputs.pixelValues?.dims);
