import { describe, expect, it } from 'vitest';
import { Tokenizer } from '@msd/tokenizer';
import { readFixtureFiles } from './helpers';

/**
 * The fixture tokenizer in the newer Llama format: no Prepend normalizer, a `Metaspace` pre-tokenizer with
 * `prepend_scheme: "first"`. Expected ids were produced by Hugging Face `tokenizers` 0.23.2
 * (`Tokenizer.from_str(...).encode(text, add_special_tokens=False)`) on this same JSON: `▁` is prepended to
 * the piece at offset 0 only, never after `<image>` or `<s>`.
 */
function metaspaceFirstTokenizer(): Tokenizer {
  const { tokenizerJson, tokenizerConfig } = readFixtureFiles();
  const json = {
    ...tokenizerJson,
    normalizer: null,
    pre_tokenizer: { type: 'Metaspace', replacement: '\u2581', prepend_scheme: 'first', split: false },
  } as unknown as typeof tokenizerJson;
  return Tokenizer.fromJSON({ tokenizerJson: json, tokenizerConfig });
}

describe('Metaspace with prepend_scheme "first"', () => {
  const tokenizer = metaspaceFirstTokenizer();

  it('adds no ▁ to text after an image token (encodeTemplate and encodePrompt agree with transformers)', () => {
    const reference = [
      510, 2950, 2964, 2962, 2965, 2923, 3000, 13, 2980, 2938, 266, 680, 404, 302, 282, 271, 2538, 279, 66, 339, 1013, 2952, 1473, 1598, 2949, 2965,
    ];
    expect(tokenizer.encodeTemplate('USER: <image>\nWhat colour is the circle? ASSISTANT:')).toEqual(reference);
    const prompt = tokenizer.encodePrompt([
      { type: 'text', text: 'USER: ' },
      { type: 'image' },
      { type: 'text', text: '\nWhat colour is the circle? ASSISTANT:' },
    ]);
    expect(prompt.ids).toEqual(reference);
  });

  it('adds none when the input starts with a special or image token', () => {
    expect(tokenizer.encodeTemplate('<image> two  spaces <image> end')).toEqual([3000, 1301, 2923, 509, 957, 2923, 3000, 2151]);
    expect(tokenizer.encodeTemplate('<s>USER: hi')).toEqual([1, 2834, 2964, 2962, 2965, 358, 2927]);
  });
});
