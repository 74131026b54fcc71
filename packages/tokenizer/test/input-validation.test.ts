import { InvalidArgumentError, MsdError } from '@msd/core';
import { describe, expect, it } from 'vitest';
import { IncrementalDetokenizer, applyChatTemplate, buildLlavaPrompt, type ChatMessage } from '@msd/tokenizer';
import { loadFixtureTokenizer } from './helpers';

// Issue 11: inputs of the wrong type fail with an InvalidArgumentError that names the argument, instead of
// quietly giving [] or "undefined", or crashing with a TypeError.

const tokenizer = await loadFixtureTokenizer();

/** Calls `action` and checks it throws an InvalidArgumentError whose argument and message match. */
function expectInvalid(action: () => unknown, argument: string | RegExp, message?: RegExp): void {
  let error: unknown;
  try {
    action();
  } catch (caught) {
    error = caught;
  }
  expect(InvalidArgumentError.isInstance(error), `no InvalidArgumentError, got ${String(error)}`).toBe(true);
  expect(MsdError.isInstance(error)).toBe(true);
  const invalid = error as InvalidArgumentError;
  expect(invalid.code).toBe('invalid_argument');
  expect(invalid.argument).toMatch(argument);
  if (message) expect(invalid.message).toMatch(message);
  expect(invalid.hint, 'says what to do').toBeTruthy();
}

describe('encode and encodeTemplate', () => {
  it('reject anything but a string instead of returning []', () => {
    for (const value of [42, null, undefined, {}, ['a'], true, Symbol('x'), 3n]) {
      expectInvalid(() => tokenizer.encode(value as never), 'text', /encode\(\) takes a string/);
      expectInvalid(() => tokenizer.encodeTemplate(value as never), 'text', /encodeTemplate\(\) takes a string/);
    }
    expectInvalid(() => tokenizer.encode(42 as never), 'text', /got the number 42/);
  });

  it('treat null options like no options', () => {
    expect(tokenizer.encode('hi', null as never)).toEqual(tokenizer.encode('hi'));
  });
});

describe('decode', () => {
  it('rejects anything but an array or typed array of ids', () => {
    for (const value of [null, undefined, '12', 42, true, Symbol('ids')]) {
      expectInvalid(() => tokenizer.decode(value as never), 'ids', /takes an array of token ids/);
    }
    expect(tokenizer.decode(Int32Array.from(tokenizer.encode('ok')))).toBe('ok');
    const ids = tokenizer.encode('ok');
    expect(tokenizer.decode({ ...ids, length: ids.length } as ArrayLike<number>)).toBe('ok');
  });

  it('rejects ids that are not integers in the vocabulary, naming the position', () => {
    const bad = [1.5, -1, tokenizer.vocabSize, 1e9, NaN, Infinity, '5', null, undefined, 5n, Symbol('id'), {}];
    for (const id of bad) {
      expectInvalid(() => tokenizer.decode([7, id as never]), 'ids', /at ids\[1\] is not in the vocabulary/);
    }
    expectInvalid(() => tokenizer.decode(Float64Array.of(2.5)), 'ids', /number 2\.5/);
    expectInvalid(() => new IncrementalDetokenizer(tokenizer).push(null as never), 'ids');
  });
});

const badMessages: Array<[string, unknown, RegExp, RegExp]> = [
  ['messages that are not an array', { role: 'user', content: 'hi' }, /^messages$/, /must be an array/],
  ['null messages', null, /^messages$/, /got null/],
  ['a message that is not an object', ['hello'], /^messages\[0\]$/, /must be an object, got "hello"/],
  ['a null message', [null], /^messages\[0\]$/, /got null/],
  ['a role that is not a string', [{ role: 42, content: 'hi' }], /^messages\[0\]\.role$/, /must be a string/],
  ['a missing role', [{ content: 'hi' }], /^messages\[0\]\.role$/, /got undefined/],
  ['null content', [{ role: 'user', content: null }], /^messages\[0\]\.content$/, /string or an array of content parts, got null/],
  ['missing content', [{ role: 'user' }], /^messages\[0\]\.content$/, /got undefined/],
  ['number content', [{ role: 'user', content: 7 }], /^messages\[0\]\.content$/, /number 7/],
  ['a part that is not an object', [{ role: 'user', content: ['hi'] }], /^messages\[0\]\.content\[0\]$/, /content part object/],
  ['a text part without text', [{ role: 'user', content: [{ type: 'text' }] }], /content\[0\]\.text$/, /must be a string, got undefined/],
  ['a text part with null text', [{ role: 'user', content: [{ type: 'text', text: null }] }], /content\[0\]\.text$/, /got null/],
  ['a text part with a number', [{ role: 'user', content: [{ type: 'image' }, { type: 'text', text: 3 }] }], /content\[1\]\.text$/, /number 3/],
  ['an unknown part type', [{ role: 'user', content: [{ type: 'audio' }] }], /content\[0\]\.type$/, /Unknown content part type "audio"/],
  ['a part without a type', [{ role: 'user', content: [{ text: 'hi' }] }], /content\[0\]\.type$/, /Unknown content part type undefined/],
];

describe.each([
  ['buildLlavaPrompt', (messages: unknown) => buildLlavaPrompt(messages as ChatMessage[])],
  ['applyChatTemplate', (messages: unknown) => applyChatTemplate(tokenizer, messages as ChatMessage[])],
])('%s', (_name, build) => {
  it.each(badMessages)('rejects %s', (_case, messages, argument, message) => {
    expectInvalid(() => build(messages), argument, message);
  });

  it('names the message at fault in a longer conversation', () => {
    const messages = [
      { role: 'user', content: 'hi' },
      { role: 'assistant', content: 'hello' },
      { role: 'user', content: [{ type: 'text', text: 'and' }, { type: 'text' }] },
    ];
    expectInvalid(() => build(messages), 'messages[2].content[1].text');
  });
});

describe('buildLlavaPrompt options and roles', () => {
  it('rejects unknown roles and a system prompt that is not a string', () => {
    expectInvalid(() => buildLlavaPrompt([{ role: 'tool', content: 'x' }]), 'messages[0].role', /Unknown role "tool"/);
    expectInvalid(() => buildLlavaPrompt([{ role: 'user', content: 'x' }], { systemPrompt: 5 as never }), 'systemPrompt');
  });
});

describe('encodePrompt', () => {
  it('rejects segments of unknown type instead of turning them into image placeholders', () => {
    expectInvalid(() => tokenizer.encodePrompt([{ type: 'bogus' } as never]), 'segments[0].type', /Unknown segment type "bogus"/);
    expectInvalid(() => tokenizer.encodePrompt([{ type: 'text', text: 'a' }, {} as never]), 'segments[1].type');
  });

  it('rejects segments that are not an array, not objects, or lack their text or token', () => {
    expectInvalid(() => tokenizer.encodePrompt(null as never), 'segments', /must be an array/);
    expectInvalid(() => tokenizer.encodePrompt('hi' as never), 'segments');
    expectInvalid(() => tokenizer.encodePrompt([null as never]), 'segments[0]', /must be an object/);
    expectInvalid(() => tokenizer.encodePrompt([{ type: 'text' } as never]), 'segments[0].text', /got undefined/);
    expectInvalid(() => tokenizer.encodePrompt([{ type: 'text', text: 42 } as never]), 'segments[0].text', /number 42/);
    expectInvalid(() => tokenizer.encodePrompt([{ type: 'special' } as never]), 'segments[0].token');
  });
});
