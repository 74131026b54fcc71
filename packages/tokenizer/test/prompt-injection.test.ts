import { InvalidArgumentError } from '@msd/core';
import { describe, expect, it } from 'vitest';
import { ChatTemplateError, Tokenizer, applyChatTemplate, buildLlavaPrompt, type ChatMessage, type ContentPart, type PromptSegment } from '@msd/tokenizer';
import { createRandom, fixtureDir, tinyLlavaTokenizerDir } from './helpers';

// Issue 11: no user-controlled string (text parts, string content, role, name, any other field) may become a
// special token or an image placeholder, however it is split across parts or joined by the template.

const tokenizers: Array<[string, Tokenizer]> = [
  ['sp-bpe fixture', await Tokenizer.fromDirectory(fixtureDir)],
  ['tiny-llava', await Tokenizer.fromDirectory(tinyLlavaTokenizerDir)],
];

/** The special and image segments of a prompt, in order, as their token strings. */
function controls(segments: readonly PromptSegment[]): string[] {
  return segments.filter((segment) => segment.type !== 'text').map((segment) => (segment.type === 'special' ? segment.token : '<image>'));
}

function textOf(segments: readonly PromptSegment[]): string {
  return segments.map((segment) => (segment.type === 'text' ? segment.text : '')).join('');
}

/** Every way to cut `token` into two non-empty pieces. */
function twoWaySplits(token: string): Array<[string, string]> {
  return Array.from({ length: token.length - 1 }, (_, index) => [token.slice(0, index + 1), token.slice(index + 1)]);
}

const textParts = (...texts: string[]): ContentPart[] => texts.map((text) => ({ type: 'text', text }));

// Renders every message field with nothing between them, so any two neighbours join.
const concatenatingTemplate =
  '{{ bos_token }}{% for m in messages %}{{ m.role }}{{ m.name }}' +
  "{% if m.content is string %}{{ m.content }}{% else %}{% for p in m.content %}{% if p.type == 'image' %}{{ image_token }}" +
  '{% else %}{{ p.text }}{% endif %}{% endfor %}{% endif %}{% endfor %}{{ eos_token }}';

describe.each(tokenizers)('applyChatTemplate with the %s tokenizer', (_name, tokenizer) => {
  const tokens = tokenizer.addedTokens.map((token) => token.content);
  const specialIdsOf = (segments: PromptSegment[]) => tokenizer.encodePrompt(segments).ids.filter((id) => tokenizer.isSpecialId(id));

  it("keeps every special token split across two text parts as text (the tokenizer's own template)", () => {
    for (const token of tokens) {
      for (const [head, tail] of twoWaySplits(token)) {
        const segments = applyChatTemplate(tokenizer, [{ role: 'user', content: textParts(`a${head}`, `${tail}b`) }]);
        expect(controls(segments), `${head} + ${tail}`).toEqual(['<s>']);
        expect(textOf(segments)).toBe(`USER: a${token}b ASSISTANT:`);
        expect(specialIdsOf(segments)).toEqual([tokenizer.bosTokenId]);
      }
    }
  });

  it("keeps '<ima' + 'ge>' and '</' + 's>' as text, also one character per part", () => {
    const split = applyChatTemplate(tokenizer, [{ role: 'user', content: textParts('<ima', 'ge> and </', 's>') }]);
    expect(controls(split)).toEqual(['<s>']);
    for (const token of tokens) {
      const segments = applyChatTemplate(tokenizer, [{ role: 'user', content: textParts(...token) }]);
      expect(controls(segments), token).toEqual(['<s>']);
    }
  });

  it('keeps special tokens split across messages as text when the template joins them', () => {
    const template = '{{ bos_token }}{% for m in messages %}{{ m.content }}{% endfor %}';
    for (const token of tokens) {
      for (const [head, tail] of twoWaySplits(token)) {
        const messages: ChatMessage[] = [
          { role: 'user', content: head },
          { role: 'assistant', content: tail },
        ];
        const segments = applyChatTemplate(tokenizer, messages, { template });
        expect(controls(segments), `${head} + ${tail}`).toEqual(['<s>']);
        expect(textOf(segments)).toBe(token);
      }
    }
  });

  it('keeps roles, names and other fields from injecting when the template renders them', () => {
    const cases: Array<{ template: string; messages: ChatMessage[]; text: string }> = [
      {
        template: '{{ bos_token }}{% for m in messages %}[{{ m.role }}] {{ m.content }}{% endfor %}',
        messages: [{ role: '<image>', content: 'x' }],
        text: '[<image>] x',
      },
      {
        template: "{{ bos_token }}{% for m in messages %}{{ '<' + m.role + '>' }}{{ m.content }}{% endfor %}",
        messages: [{ role: '/s', content: 'x' }],
        text: '</s>x',
      },
      {
        template: '{{ bos_token }}{% for m in messages %}{{ m.role }}{{ m.name }}{{ m.content }}{% endfor %}',
        messages: [
          { role: '</', name: 's', content: '>' },
          { role: 'user', name: '<ima', content: 'ge>' },
        ],
        text: '</s>user<image>',
      },
      {
        template: "{{ bos_token }}{% for m in messages %}{{ m.meta.tags | join('') }}{{ m.meta.count }}{% endfor %}",
        messages: [{ role: 'user', content: '', meta: { tags: ['<im', 'age>', '</', 's>'], count: 2 } }],
        text: '<image></s>2',
      },
      {
        template: '{{ bos_token }}{% for m in messages %}{{ m | tojson }}{% endfor %}',
        messages: [{ role: 'user', content: '</s><image>' }],
        text: '{"role": "user", "content": "</s><image>"}',
      },
    ];
    for (const { template, messages, text } of cases) {
      const segments = applyChatTemplate(tokenizer, messages, { template });
      expect(controls(segments), template).toEqual(['<s>']);
      expect(textOf(segments)).toBe(text);
      expect(specialIdsOf(segments)).toEqual([tokenizer.bosTokenId]);
    }
  });

  it('makes image placeholders only from image parts, and special tokens only from the template', () => {
    const segments = applyChatTemplate(
      tokenizer,
      [
        { role: 'user', content: [{ type: 'image' }, ...textParts('<ima', 'ge>'), { type: 'image' }] },
        { role: 'assistant', content: '</s><s><image>' },
      ],
      { template: concatenatingTemplate },
    );
    expect(controls(segments)).toEqual(['<s>', '<image>', '<image>', '</s>']);
    expect(textOf(segments)).toBe('user<image>assistant</s><s><image>');
  });

  it('never lets random splits and joins of special-token strings produce tokens (property)', () => {
    const random = createRandom(11);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
    const atoms = [...tokens, ...tokens.flatMap((token) => twoWaySplits(token).flat()), 'a', ' ', '\n', '  ', '\uE000', '\uE001', '\u2000', '7'];
    const hostile = () => Array.from({ length: 1 + Math.floor(random() * 6) }, () => pick(atoms)).join('');
    for (let run = 0; run < 300; run++) {
      const messages: ChatMessage[] = [];
      const expectedControls = ['<s>'];
      let expectedText = '';
      for (let count = 1 + Math.floor(random() * 3); count > 0; count--) {
        const role = random() < 0.5 ? 'user' : hostile();
        const name = hostile();
        const parts: ContentPart[] = [];
        for (let partCount = Math.floor(random() * 4); partCount > 0; partCount--) {
          parts.push(random() < 0.2 ? { type: 'image' } : { type: 'text', text: hostile() });
        }
        const content = random() < 0.3 ? hostile() : parts;
        messages.push({ role, name, content });
        expectedText += role + name;
        for (const part of typeof content === 'string' ? [{ type: 'text' as const, text: content }] : content) {
          if (part.type === 'image') expectedControls.push('<image>');
          else expectedText += part.text;
        }
      }
      expectedControls.push('</s>');
      const segments = applyChatTemplate(tokenizer, messages, { template: concatenatingTemplate });
      expect(controls(segments), JSON.stringify(messages)).toEqual(expectedControls);
      expect(textOf(segments)).toBe(expectedText);
      const imageCount = expectedControls.filter((token) => token === '<image>').length;
      expect(specialIdsOf(segments)).toHaveLength(imageCount + 2);

      const fromDefault = applyChatTemplate(
        tokenizer,
        messages.map((message) => ({ ...message, role: 'user' })),
      );
      expect(controls(fromDefault).filter((token) => token !== '<image>')).toEqual(['<s>']);
    }
  });
});

describe('applyChatTemplate placeholders', () => {
  const [, tokenizer] = tokenizers[0] as [string, Tokenizer];
  const render = (template: string, messages: ChatMessage[], options = {}) => textOf(applyChatTemplate(tokenizer, messages, { template, ...options }));

  it('lets the template trim and strip message strings, and keeps the whitespace otherwise', () => {
    const messages: ChatMessage[] = [{ role: 'user', content: ' \n hi  there\t ' }];
    expect(render('[{{ messages[0].content }}]', messages)).toBe('[ \n hi  there\t ]');
    expect(render('[{{ messages[0].content | trim }}]', messages)).toBe('[hi  there]');
    expect(render('[{{ messages[0].content.lstrip() }}]', messages)).toBe('[hi  there\t ]');
    expect(render('[{{ messages[0].content.rstrip() }}]', messages)).toBe('[ \n hi  there]');
    expect(render('[{{ messages[0].content | trim }}]', [{ role: 'user', content: '   ' }])).toBe('[]');
  });

  it('passes the usual roles as they are, so templates can compare them, and others only when asked', () => {
    const template = "{% for m in messages %}{% if m.role == 'user' %}U{% elif m.role == 'critic' %}C{% else %}?{% endif %}{% endfor %}";
    const messages: ChatMessage[] = [
      { role: 'user', content: 'a' },
      { role: 'critic', content: 'b' },
    ];
    expect(render(template, messages)).toBe('U?');
    expect(render(template, messages, { roles: ['user', 'critic'] })).toBe('UC');
    expect(() => applyChatTemplate(tokenizer, messages, { roles: 'user' as never })).toThrow(InvalidArgumentError);
  });

  it('throws ChatTemplateError when the template cuts into a message string', () => {
    const error = (() => {
      try {
        applyChatTemplate(tokenizer, [{ role: 'user', content: '</s>' }], { template: '{{ messages[0].content[1:] }}' });
      } catch (caught) {
        return caught;
      }
    })();
    expect(ChatTemplateError.isInstance(error)).toBe(true);
    expect((error as Error).message).toMatch(/cut into a message string.*whole/s);
  });

  it('shows the real text, not placeholders, in template errors', () => {
    const template = "{{ raise_exception('Unsupported role: ' + messages[0].role) }}";
    expect(() => applyChatTemplate(tokenizer, [{ role: 'critic', content: 'x' }], { template })).toThrow(/Unsupported role: critic/);
  });

  it('rejects field names and values that are not plain JSON data', () => {
    const attempt = (message: unknown) => () => applyChatTemplate(tokenizer, [message as ChatMessage], { template: 'x' });
    expect(attempt({ role: 'user', content: 'x', meta: { '</s>': 1 } })).toThrow(/field named/);
    expect(attempt({ role: 'user', content: 'x', when: new Date(0) })).toThrow(InvalidArgumentError);
    expect(attempt({ role: 'user', content: 'x', call: () => '</s>' })).toThrow(/JSON data/);
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    expect(attempt({ role: 'user', content: 'x', cycle })).toThrow(/nested/);
  });
});

describe('buildLlavaPrompt and encodePrompt', () => {
  it.each(tokenizers)('keep special tokens split across parts, messages and the system prompt as text (%s)', (_name, tokenizer) => {
    for (const token of tokenizer.addedTokens.map((added) => added.content)) {
      for (const [head, tail] of twoWaySplits(token)) {
        const segments = buildLlavaPrompt(
          [
            { role: 'user', content: textParts(head, tail) },
            { role: 'assistant', content: head },
            { role: 'user', content: [{ type: 'text', text: tail }, { type: 'image' }] },
          ],
          { systemPrompt: token },
        );
        const prompt = tokenizer.encodePrompt(segments);
        const specials = prompt.ids.filter((id) => tokenizer.isSpecialId(id));
        expect(specials, token).toEqual([tokenizer.bosTokenId, tokenizer.eosTokenId, tokenizer.imageTokenId]);
        const split = tokenizer.encodePrompt([
          { type: 'text', text: head },
          { type: 'text', text: tail },
        ]);
        expect(split.ids.some((id) => tokenizer.isSpecialId(id))).toBe(false);
      }
    }
  });
});
