import { describe, expect, it } from 'vitest';
import { Tokenizer } from '@msd/tokenizer';
import { tinyLlavaDirectory } from '@msd/tiny-llava';
import { acceptanceByKind, imageDependentTokens } from 'msd/bench';

describe('acceptance split by token kind', () => {
  it('marks every token of an image-dependent word, with the real tokenizer', async () => {
    const tokenizer = await Tokenizer.fromDirectory(tinyLlavaDirectory());
    const text = 'The first is a small purple triangle at the top left. It is above the beige background.';
    const ids = tokenizer.encode(text, { addSpecialTokens: false });
    const flags = imageDependentTokens(ids, (part) => tokenizer.decode(part));
    const marked = ids
      .filter((_, index) => flags[index])
      .map((id) => tokenizer.decode([id]))
      .join('|');
    for (const word of ['small', 'purple', 'triangle', 'top', 'left', 'above', 'beige']) expect(marked.replace(/\|/g, '')).toContain(word);
    for (const word of ['first', 'The', 'background']) expect(marked).not.toContain(word);
  });

  it('counts the drafted tokens of each kind', () => {
    const kinds = acceptanceByKind([true, false, false, true, false], ['target', 'draft', 'draft', 'draft', 'target']);
    expect(kinds).toEqual({ image: { tokens: 2, fromDraft: 1 }, other: { tokens: 3, fromDraft: 2 } });
  });
});
