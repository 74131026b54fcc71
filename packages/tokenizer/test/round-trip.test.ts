import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Tokenizer } from '@msd/tokenizer';
import { createRandom, fixtureDir, tinyLlavaTokenizerDir } from './helpers';

// Issue 11: the README promised decode(encode(text)) === text with no exceptions. These tests pin the
// documented exceptions (so the README stays true) and check that nothing else breaks the round trip.

const tokenizers: Array<[string, Tokenizer]> = [
  ['sp-bpe fixture', await Tokenizer.fromDirectory(fixtureDir)],
  ['tiny-llava', await Tokenizer.fromDirectory(tinyLlavaTokenizerDir)],
];

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

/** Characters drawn from every part of Unicode, weighted towards what trips tokenizers up. */
function randomCharacter(random: () => number): string {
  const roll = random();
  const codePoint =
    roll < 0.25
      ? 0x20 + Math.floor(random() * 0x5f) // printable ASCII
      : roll < 0.35
        ? ([0x20, 0x20, 0x09, 0x0a, 0x0d, 0x00, 0xa0, 0x3000, 0xfeff, 0xfffd, 0xfffe] as const)[Math.floor(random() * 11)]!
        : roll < 0.65
          ? Math.floor(random() * 0x10000) // the Basic Multilingual Plane
          : Math.floor(random() * 0x110000); // any plane
  const excluded = (codePoint >= 0xd800 && codePoint <= 0xdfff) || codePoint === 0x2581;
  return excluded ? 'x' : String.fromCodePoint(codePoint);
}

describe('the README on round trips', () => {
  it('names both exceptions to decode(encode(text)) === text', () => {
    expect(readme).toMatch(/decode\(encode\(text\)\) === text[\s\S]*exactly two exceptions/);
    expect(readme).toMatch(/lone \(unpaired\) UTF-16 surrogate comes back as U\+FFFD/);
    expect(readme).toMatch(/U\+2581 \(`▁`[^)]*\) comes back as a space U\+0020/);
  });
});

describe.each(tokenizers)('decode(encode(text)) with the %s tokenizer', (_name, tokenizer) => {
  const roundTrip = (text: string) => tokenizer.decode(tokenizer.encode(text));

  it('turns each lone surrogate into U+FFFD (documented exception)', () => {
    expect(roundTrip('a\uD800b')).toBe('a\uFFFDb');
    expect(roundTrip('\uDC00')).toBe('\uFFFD');
    expect(roundTrip('x\uD83D')).toBe('x\uFFFD');
    expect(roundTrip('\uDE00\uD83D')).toBe('\uFFFD\uFFFD'); // a pair in the wrong order is two lone surrogates
    expect(roundTrip('\uD83D\uDE00')).toBe('\uD83D\uDE00'); // a proper pair round-trips
  });

  it('turns each U+2581 into a space (documented exception)', () => {
    expect(roundTrip('x\u2581y')).toBe('x y');
    expect(roundTrip('\u2581')).toBe(' ');
    expect(roundTrip('\u2581\u2581 a\u2581')).toBe('   a ');
  });

  it('round-trips random strings without lone surrogates or U+2581 (property)', () => {
    const random = createRandom(2581);
    const failures: string[] = [];
    for (let run = 0; run < 3000; run++) {
      const text = Array.from({ length: Math.floor(random() * 24) }, () => randomCharacter(random)).join('');
      if (roundTrip(text) !== text) failures.push(JSON.stringify(text));
    }
    expect(failures).toEqual([]);
  });

  it('round-trips special-token strings, leading spaces and the U+FFFD character itself', () => {
    for (const text of ['<s></s><unk><image><pad>', ' lead', '   three', 'trail  ', '\uFFFD', '\uFFFE\uFFFF', '']) {
      expect(roundTrip(text)).toBe(text);
    }
  });
});
