import { InvalidArgumentError } from '@msd/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { IncrementalDetokenizer, type Tokenizer } from '@msd/tokenizer';
import { loadFixtureTokenizer } from './helpers';

let tokenizer: Tokenizer;
beforeAll(async () => {
  tokenizer = await loadFixtureTokenizer();
});

function stream(ids: number[], options = {}): string[] {
  const detokenizer = new IncrementalDetokenizer(tokenizer, options);
  const deltas = ids.map((id) => detokenizer.push(id));
  deltas.push(detokenizer.flush());
  return deltas;
}

describe('IncrementalDetokenizer', () => {
  it('holds byte-fallback pieces until the character is complete', () => {
    const ids = tokenizer.encode('go 🐧 now');
    const tokens = ids.map((id) => tokenizer.idToToken(id));
    expect(tokens.filter((token) => /^<0x[0-9A-F]{2}>$/.test(token!))).toHaveLength(4);
    const deltas = stream(ids);
    expect(deltas.join('')).toBe('go 🐧 now');
    expect(deltas.some((delta) => delta.includes('\uFFFD'))).toBe(false);
    expect(deltas.slice(2, 6)).toEqual(['', '', '', '🐧']); // three held, then the whole character
  });

  it('strips the leading space of the first token only, like decode', () => {
    const ids = tokenizer.encode('Hello big world');
    const deltas = stream(ids);
    expect(deltas[0]!.startsWith(' ')).toBe(false);
    expect(deltas.join('')).toBe('Hello big world');
    expect(stream(tokenizer.encode('  two leading')).join('')).toBe('  two leading');
  });

  it('includes or skips special tokens like decode', () => {
    const ids = [1, ...tokenizer.encode('Answer.'), 2];
    expect(stream(ids).join('')).toBe(tokenizer.decode(ids));
    expect(stream(ids, { skipSpecialTokens: true }).join('')).toBe(tokenizer.decode(ids, { skipSpecialTokens: true }));
  });

  it('flushes an unfinished byte sequence the way decode shows it', () => {
    const euro = tokenizer.encode('€').filter((id) => /^<0x/.test(tokenizer.idToToken(id)!));
    const ids = [...tokenizer.encode('cost'), ...euro.slice(0, 2)];
    const detokenizer = new IncrementalDetokenizer(tokenizer);
    let text = ids.map((id) => detokenizer.push(id)).join('');
    expect(text).toBe('cost');
    text += detokenizer.flush();
    expect(text).toBe(tokenizer.decode(ids));
    expect(detokenizer.text).toBe(text);
  });

  it('keeps a literal U+FFFD in the text', () => {
    const ids = tokenizer.encode('bad \uFFFD char');
    expect(stream(ids).join('')).toBe('bad \uFFFD char');
  });

  it('starts over after flush and reset', () => {
    const detokenizer = new IncrementalDetokenizer(tokenizer);
    for (const id of tokenizer.encode('first')) detokenizer.push(id);
    detokenizer.flush();
    const second =
      tokenizer
        .encode('second')
        .map((id) => detokenizer.push(id))
        .join('') + detokenizer.flush();
    expect(second).toBe('second');
    detokenizer.reset();
    expect(detokenizer.text).toBe('');
    expect(detokenizer.flush()).toBe('');
  });

  it('rejects ids outside the vocabulary', () => {
    expect(() => new IncrementalDetokenizer(tokenizer).push(99_999)).toThrow(InvalidArgumentError);
  });
});
