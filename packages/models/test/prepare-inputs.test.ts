import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, TokenTypeCode, countTokenTypes } from '@msd/core';
import { Tokenizer, ImageCountMismatchError, applyChatTemplate, buildLlavaPrompt } from '@msd/tokenizer';
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
  // Whether sharp is loaded: sharp 0.34 enters require.cache; 0.35 is an ES module that never does,
  // but its native binary (and libvips) shows in the process's memory maps on Linux.
  const probe = (body: string) =>
    execFileSync(
      process.execPath,
      [
        '--import',
        'tsx',
        '--conditions=@msd/source',
        '--input-type=module',
        '-e',
        `import { createRequire } from 'node:module'; import { readFileSync } from 'node:fs'; ${body}; const r = createRequire(import.meta.url); const maps = process.platform === 'linux' ? readFileSync('/proc/self/maps', 'utf8') : ''; console.log(Object.keys(r.cache).some((k) => k.includes('/sharp/')) || /sharp/.test(maps));`,
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

describe("prepareInputs with the model's chat template", () => {
  const files = () => ({
    tokenizerJson: JSON.parse(readFileSync(`${tokenizerDir}/tokenizer.json`, 'utf8')),
    tokenizerConfig: JSON.parse(readFileSync(`${tokenizerDir}/tokenizer_config.json`, 'utf8')),
  });
  const template = (bos: string) =>
    `${bos}{% for m in messages %}{{ m['role'].upper() + ': ' }}{% for p in m['content'] %}{% if p['type'] == 'image' %}{{ '<image>\\n' }}{% else %}{{ p['text'] + ' ' }}{% endif %}{% endfor %}{% endfor %}ASSISTANT:`;
  // The newer Llama format, where BOS goes decides whether the first text gets "▁".
  const metaspaceFirst = (chatTemplate: string) => {
    const { tokenizerJson, tokenizerConfig } = files();
    return Tokenizer.fromJSON({
      tokenizerJson: { ...tokenizerJson, normalizer: null, pre_tokenizer: { type: 'Metaspace', replacement: '\u2581', prepend_scheme: 'first', split: false } },
      tokenizerConfig: { ...tokenizerConfig, chat_template: chatTemplate },
    });
  };
  const messages = [{ role: 'user' as const, content: [{ type: 'text' as const, text: 'Hi' }] }];

  it("renders the tokenizer's template and adds BOS after encoding, as transformers' post-processor does", async () => {
    const tokenizer = metaspaceFirst(template(''));
    const inputs = await prepareInputs({ tokenizer, imageTokensPerImage: 1, messages });
    // The text still starts the input, so it gets its "▁" (encodeTemplate of the text alone).
    expect(Array.from(inputs.ids)).toEqual([tokenizer.bosTokenId, ...tokenizer.encodeTemplate('USER: Hi ASSISTANT:')]);
    expect(inputs.tags.types[0]).toBe(TokenTypeCode.special);
  });

  it('adds no second BOS when the template writes one, and the text after it gets no "▁"', async () => {
    const tokenizer = metaspaceFirst(template('{{ bos_token }}'));
    const inputs = await prepareInputs({ tokenizer, imageTokensPerImage: 1, messages });
    expect(Array.from(inputs.ids)).toEqual(tokenizer.encodeTemplate('<s>USER: Hi ASSISTANT:'));
    expect(inputs.ids[1]).not.toBe(tokenizer.bosTokenId);
  });

  it('builds the LLaVA-1.5 format instead when given its options', async () => {
    const tokenizer = metaspaceFirst(template(''));
    const inputs = await prepareInputs({ tokenizer, imageTokensPerImage: 1, messages, prompt: { systemPrompt: 'Be brief.' } });
    expect(tokenizer.decode(Array.from(inputs.ids), { skipSpecialTokens: true })).toBe('Be brief. USER: Hi ASSISTANT:');
  });
});

describe("the bundled model's chat template", () => {
  it('renders the LLaVA-1.5 format buildLlavaPrompt builds, so its prompts did not change', async () => {
    // prepareInputs renders the template now; before, it always built the LLaVA-1.5 format.
    const tokenizer = await Tokenizer.fromDirectory(`${root}packages/tiny-llava/model`);
    expect(tokenizer.chatTemplate).toBeDefined();
    const conversations = [
      [{ role: 'user' as const, content: [{ type: 'image' as const }, { type: 'text' as const, text: 'What is shown?' }] }],
      [{ role: 'user' as const, content: [{ type: 'image' as const }, { type: 'image' as const }, { type: 'text' as const, text: 'Compare.' }] }],
      [{ role: 'user' as const, content: 'Plain text, no image.' }],
      [
        { role: 'system' as const, content: 'Be brief.' },
        { role: 'user' as const, content: [{ type: 'image' as const }, { type: 'text' as const, text: 'Count them.' }] },
        { role: 'assistant' as const, content: 'Three.' },
        { role: 'user' as const, content: 'And the colours?' },
      ],
    ];
    for (const messages of conversations) {
      // The template writes BOS itself, so prepareInputs adds none: its ids are the template's.
      expect(tokenizer.encodePrompt(applyChatTemplate(tokenizer, messages)).ids).toEqual(tokenizer.encodePrompt(buildLlavaPrompt(messages)).ids);
    }
  });
});
