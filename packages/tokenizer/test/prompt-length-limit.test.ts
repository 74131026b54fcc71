import { InvalidArgumentError, MsdError } from '@msd/core';
import { describe, expect, it } from 'vitest';
import { DEFAULT_MAX_PROMPT_CHARACTERS, PromptTooLongError, buildLlavaPrompt } from '@msd/tokenizer';
import { createRandom, loadFixtureTokenizer } from './helpers';

// Issue 11: a 1 MB prompt blocked the event loop for seconds. The length is now checked before tokenizing.

const tokenizer = await loadFixtureTokenizer();
const overLimit = 'a'.repeat(DEFAULT_MAX_PROMPT_CHARACTERS + 1);

function caught(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  return undefined;
}

/** How long `action` takes, in milliseconds. */
function timed(action: () => unknown): number {
  const start = performance.now();
  action();
  return performance.now() - start;
}

function randomUnicode(length: number, seed: number): string {
  const random = createRandom(seed);
  let text = '';
  while (text.length < length) {
    const codePoint = Math.floor(random() * 0x110000);
    if (codePoint < 0xd800 || codePoint > 0xdfff) text += String.fromCodePoint(codePoint);
  }
  return text.slice(0, length).replace(/[\uD800-\uDBFF]$/u, 'x');
}

describe('the prompt length limit', () => {
  it('defaults to 50,000 characters', () => {
    expect(DEFAULT_MAX_PROMPT_CHARACTERS).toBe(50_000);
  });

  it('throws PromptTooLongError naming the limit, the length and how to raise it', () => {
    const error = caught(() => tokenizer.encode(overLimit));
    expect(PromptTooLongError.isInstance(error)).toBe(true);
    expect(MsdError.isInstance(error)).toBe(true);
    const tooLong = error as PromptTooLongError;
    expect(tooLong.code).toBe('prompt_too_long');
    expect(tooLong.length).toBe(50_001);
    expect(tooLong.maxCharacters).toBe(50_000);
    expect(tooLong.message).toMatch(/50001 characters.*limit of 50000.*maxCharacters.*Infinity/s);
  });

  it('checks before tokenizing: a 1 MB prompt is refused at once', () => {
    const megabyte = randomUnicode(1_000_000, 3);
    const segments = buildLlavaPrompt([{ role: 'user', content: [{ type: 'image' }, { type: 'text', text: megabyte }] }]);
    for (const action of [() => tokenizer.encode(megabyte), () => tokenizer.encodeTemplate(megabyte), () => tokenizer.encodePrompt(segments)]) {
      let error: unknown;
      const milliseconds = timed(() => (error = caught(action)));
      expect(PromptTooLongError.isInstance(error)).toBe(true);
      expect(milliseconds).toBeLessThan(100);
    }
  });

  it('counts the text of all segments of a prompt together, and not special or image segments', () => {
    const half = 'b'.repeat(DEFAULT_MAX_PROMPT_CHARACTERS / 2);
    const atLimit = [{ type: 'special', token: '<s>' }, { type: 'text', text: half }, { type: 'image' }, { type: 'text', text: half }] as const;
    expect(tokenizer.encodePrompt([...atLimit]).ids.length).toBeGreaterThan(2);
    const error = caught(() => tokenizer.encodePrompt([...atLimit, { type: 'text', text: '!' }]));
    expect(error).toMatchObject({ code: 'prompt_too_long', length: DEFAULT_MAX_PROMPT_CHARACTERS + 1 });
  });

  it('takes a custom limit, and Infinity turns it off', () => {
    expect(() => tokenizer.encode('hello', { maxCharacters: 4 })).toThrow(PromptTooLongError);
    expect(tokenizer.encode('hell', { maxCharacters: 4 })).toEqual(tokenizer.encode('hell'));
    expect(() => tokenizer.encodeTemplate('<s>hello', { maxCharacters: 7 })).toThrow(/limit of 7/);
    expect(() => tokenizer.encodePrompt([{ type: 'text', text: 'hello' }], { maxCharacters: 4 })).toThrow(PromptTooLongError);
    expect(tokenizer.encode(overLimit, { maxCharacters: Infinity }).length).toBeGreaterThan(0);
    const segments = [{ type: 'text' as const, text: overLimit }];
    expect(tokenizer.encodePrompt(segments, { maxCharacters: overLimit.length }).ids.length).toBeGreaterThan(0);
    // Template pieces of a long template text are not checked again one by one against the default.
    expect(tokenizer.encodeTemplate(`<s>${overLimit}`, { maxCharacters: Infinity })[0]).toBe(1);
  });

  it('rejects a limit that is not a non-negative integer or Infinity', () => {
    for (const maxCharacters of [-1, NaN, 1.5, '100', null, -Infinity]) {
      const error = caught(() => tokenizer.encode('hi', { maxCharacters: maxCharacters as never }));
      expect(InvalidArgumentError.isInstance(error), String(maxCharacters)).toBe(true);
      expect((error as InvalidArgumentError).argument).toBe('maxCharacters');
    }
  });

  // A guard against raising the default past what keeps the event loop responsive: the worst inputs measured
  // take up to ~0.7 s at the default on a 2-core machine; the bound leaves room for slow, busy CI machines.
  it('keeps encodePrompt at the default limit within a few seconds for the slowest inputs', () => {
    const length = DEFAULT_MAX_PROMPT_CHARACTERS - 100;
    const worstCases = {
      'random Unicode': randomUnicode(length, 5),
      'one character repeated': '中'.repeat(length),
      'no spaces': Array.from({ length }, (_, index) => 'abcdefghij<>/.,;'[(index * 7919) % 16]).join(''),
    };
    for (const [name, text] of Object.entries(worstCases)) {
      const segments = buildLlavaPrompt([{ role: 'user', content: [{ type: 'image' }, { type: 'text', text }] }]);
      const milliseconds = timed(() => tokenizer.encodePrompt(segments));
      expect(milliseconds, name).toBeLessThan(5_000);
    }
  });
});
