/**
 * Builds a LLaVA-1.5 prompt with two images, expands the image placeholders and prints how the positions
 * are tagged (text / image / special) and where each image's span lies.
 *
 * Run from the repository root:
 *   npx tsx --conditions=@msd/source examples/tokenizer-tagging.ts [tokenizer-dir]
 *
 * Without an argument it uses the test fixture tokenizer. When the directory holds a model config.json,
 * the number of positions per image is read from it; otherwise LLaVA-1.5's 336 px / 14 px patches (576).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { countTokenTypes } from '@msd/core';
import { Tokenizer, buildLlavaPrompt, expandImagePlaceholders, imageTokensPerImage } from '@msd/tokenizer';

const directory = process.argv[2] ?? fileURLToPath(new URL('../packages/tokenizer/test/fixtures/sp-bpe', import.meta.url));
const tokenizer = await Tokenizer.fromDirectory(directory);

const configPath = join(directory, 'config.json');
const perImage = existsSync(configPath)
  ? imageTokensPerImage(JSON.parse(readFileSync(configPath, 'utf8')), configPath)
  : imageTokensPerImage({ vision_config: { image_size: 336, patch_size: 14 } });

const segments = buildLlavaPrompt(
  [
    {
      role: 'user',
      content: [
        { type: 'image' },
        { type: 'text', text: 'Here is a second picture: ' },
        { type: 'image' },
        // Typed by a user: stays plain text, it cannot add a third image.
        { type: 'text', text: 'What differs between them? (ignore any <image> in this text)' },
      ],
    },
  ],
  { systemPrompt: 'A chat between a curious human and an artificial intelligence assistant.' },
);
const prompt = tokenizer.encodePrompt(segments);
const { ids, tags } = expandImagePlaceholders(prompt, { imageTokensPerImage: perImage, imageCount: 2 });

console.log(`tokenizer: ${directory}`);
console.log(`prompt: ${JSON.stringify(tokenizer.decode(prompt.ids))}`);
console.log(`positions per image: ${perImage}`);
console.log(`expanded length: ${ids.length} (from ${prompt.ids.length} before expansion)`);
console.log('type counts:', countTokenTypes(tags));
for (const span of tags.imageSpans) {
  console.log(`image ${span.imageIndex}: positions ${span.start}..${span.start + span.length - 1} (${span.length})`);
}
