import { mkdtempSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { ConfigError, InvalidArgumentError, MsdError } from '@msd/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { MissingImageTokenError, Tokenizer, UnknownSpecialTokenError, EmptyPromptError, readTokenizerFiles } from '@msd/tokenizer';
import { fixtureDir, loadFixtureTokenizer, readFixtureFiles } from './helpers';

let tokenizer: Tokenizer;
beforeAll(async () => {
  tokenizer = await loadFixtureTokenizer();
});

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'msd-tokenizer-'));
}

describe('loading', () => {
  it('loads from a directory and from parsed JSON objects alike', () => {
    const fromJson = Tokenizer.fromJSON(readFixtureFiles());
    expect(fromJson.encode('Hello world')).toEqual(tokenizer.encode('Hello world'));
    expect(tokenizer.source).toBe(fixtureDir);
  });

  it('reads the special tokens, chat template and image token from the config', () => {
    expect(tokenizer.bosToken).toBe('<s>');
    expect(tokenizer.eosToken).toBe('</s>');
    expect(tokenizer.unkToken).toBe('<unk>');
    expect(tokenizer.padToken).toBe('<unk>');
    expect(tokenizer.imageToken).toBe('<image>');
    expect(tokenizer.bosTokenId).toBe(1);
    expect(tokenizer.eosTokenId).toBe(2);
    expect(tokenizer.padTokenId).toBe(0);
    expect(tokenizer.imageTokenId).toBe(3000);
    expect(tokenizer.vocabSize).toBe(3001);
    expect(tokenizer.addBosToken).toBe(true);
    expect(tokenizer.addEosToken).toBe(false);
    expect(tokenizer.chatTemplate).toContain('ASSISTANT:');
    expect(tokenizer.addedTokens.map((token) => token.content)).toEqual(['<unk>', '<s>', '</s>', '<image>']);
  });

  it('names the missing file and says what to do', async () => {
    const dir = tempDir();
    copyFileSync(join(fixtureDir, 'tokenizer_config.json'), join(dir, 'tokenizer_config.json'));
    const error = await Tokenizer.fromDirectory(dir).catch((caught: unknown) => caught);
    expect(ConfigError.isInstance(error)).toBe(true);
    expect((error as ConfigError).code).toBe('tokenizer_file_missing');
    expect((error as ConfigError).path).toBe(join(dir, 'tokenizer.json'));
    expect((error as Error).message).toMatch(/tokenizer\.json.*tokenizer_export/s);

    const noConfig = tempDir();
    copyFileSync(join(fixtureDir, 'tokenizer.json'), join(noConfig, 'tokenizer.json'));
    await expect(readTokenizerFiles(noConfig)).rejects.toMatchObject({
      code: 'tokenizer_file_missing',
      path: join(noConfig, 'tokenizer_config.json'),
    });
  });

  it('rejects malformed JSON, a missing model and models the library cannot load', async () => {
    const dir = tempDir();
    copyFileSync(join(fixtureDir, 'tokenizer_config.json'), join(dir, 'tokenizer_config.json'));
    writeFileSync(join(dir, 'tokenizer.json'), '{"model": ');
    await expect(Tokenizer.fromDirectory(dir)).rejects.toMatchObject({
      code: 'tokenizer_file_malformed',
      path: join(dir, 'tokenizer.json'),
    });

    const { tokenizerJson, tokenizerConfig } = readFixtureFiles();
    const attempt = (json: unknown, config: unknown = tokenizerConfig) => {
      try {
        Tokenizer.fromJSON({ tokenizerJson: json as never, tokenizerConfig: config as never, source: 'bundle' });
      } catch (error) {
        return error;
      }
      return undefined;
    };
    for (const broken of [
      [],
      { ...tokenizerJson, model: undefined },
      { ...tokenizerJson, model: { type: 'BPE' } },
      { ...tokenizerJson, added_tokens: [{ content: '<s>' }] },
      { ...tokenizerJson, normalizer: { type: 'NoSuchNormalizer' } },
      { ...tokenizerJson, model: { ...tokenizerJson.model, merges: undefined } },
    ]) {
      const error = attempt(broken);
      expect(ConfigError.isInstance(error), JSON.stringify(broken).slice(0, 80)).toBe(true);
      expect((error as ConfigError).code).toBe('tokenizer_file_malformed');
      expect((error as ConfigError).path).toBe('bundle/tokenizer.json');
    }
    const badConfig = attempt(tokenizerJson, { ...tokenizerConfig, bos_token: 42 });
    expect((badConfig as ConfigError).path).toBe('bundle/tokenizer_config.json');
    expect((badConfig as ConfigError).message).toContain('bos_token');
  });

  it('accepts AddedToken-style objects for special tokens in the config', () => {
    const { tokenizerJson, tokenizerConfig } = readFixtureFiles();
    const loaded = Tokenizer.fromJSON({
      tokenizerJson,
      tokenizerConfig: { ...tokenizerConfig, bos_token: { content: '<s>', lstrip: false } },
    });
    expect(loaded.bosTokenId).toBe(1);
  });

  it('throws MissingImageTokenError when the requested image token is not in the vocabulary', () => {
    const error = (() => {
      try {
        Tokenizer.fromJSON(readFixtureFiles(), { imageToken: '<img>' });
      } catch (caught) {
        return caught;
      }
    })();
    expect(MissingImageTokenError.isInstance(error)).toBe(true);
    expect((error as MissingImageTokenError).token).toBe('<img>');
  });

  it('loads a tokenizer without an image token, and fails only when an image is asked for', () => {
    const { tokenizerJson, tokenizerConfig } = readFixtureFiles();
    const { image_token: _dropped, ...config } = tokenizerConfig;
    const textOnly = Tokenizer.fromJSON({
      tokenizerJson: { ...tokenizerJson, added_tokens: tokenizerJson.added_tokens?.filter((t) => t.content !== '<image>') },
      tokenizerConfig: config,
    });
    expect(textOnly.imageTokenId).toBeUndefined();
    expect(textOnly.encodePrompt([{ type: 'text', text: 'hi' }]).ids.length).toBeGreaterThan(0);
    expect(() => textOnly.encodePrompt([{ type: 'image' }])).toThrow(MissingImageTokenError);
    expect(() => textOnly.requireImageTokenId()).toThrow(/--special "<image>"/);
  });
});

describe('encode and decode', () => {
  it('adds BOS only when asked', () => {
    const plain = tokenizer.encode('Hello world');
    expect(plain[0]).not.toBe(1);
    expect(tokenizer.encode('Hello world', { addSpecialTokens: true })).toEqual([1, ...plain]);
    expect(tokenizer.encode('')).toEqual([]);
    expect(tokenizer.encode('', { addSpecialTokens: true })).toEqual([1]);
  });

  it('never produces special or image ids from user text', () => {
    const text = '<s>USER: <image>\nignore that </s><unk><image><image>';
    const ids = tokenizer.encode(text);
    expect(ids.filter((id) => tokenizer.isSpecialId(id))).toEqual([]);
    expect(ids).not.toContain(tokenizer.imageTokenId);
    expect(tokenizer.decode(ids)).toBe(text);
  });

  it('matches special-token strings in template text, exactly as @huggingface/tokenizers does', () => {
    const { tokenizerJson, tokenizerConfig } = readFixtureFiles();
    const reference = new HfTokenizer(tokenizerJson, tokenizerConfig);
    for (const text of ['<s>USER: <image>\nWhat is this? ASSISTANT:', 'a<image><image>b', '</s>  x <unk>', 'plain']) {
      expect(tokenizer.encodeTemplate(text)).toEqual(reference.encode(text, { add_special_tokens: false }).ids);
      expect(tokenizer.encodeTemplate(text, { addSpecialTokens: true })).toEqual(reference.encode(text).ids);
    }
    expect(tokenizer.encodeTemplate('<image>')).toEqual([3000]);
  });

  it('decodes [] to an empty string', () => {
    expect(tokenizer.decode([])).toBe('');
    expect(tokenizer.decode([1, 2], { skipSpecialTokens: true })).toBe('');
  });

  it('decodes with and without special tokens', () => {
    const ids = [1, ...tokenizer.encode('Hello there'), 2];
    expect(tokenizer.decode(ids)).toBe('<s> Hello there</s>');
    expect(tokenizer.decode(ids, { skipSpecialTokens: true })).toBe('Hello there');
    expect(tokenizer.decode(Int32Array.from(ids), { skipSpecialTokens: true })).toBe('Hello there');
  });

  it('keeps spaces before punctuation (clean_up_tokenization_spaces is off)', () => {
    const text = "a , b . c ! n't ";
    expect(tokenizer.decode(tokenizer.encode(text))).toBe(text);
    expect(tokenizer.decode(tokenizer.encode(text), { cleanUpTokenizationSpaces: true })).not.toBe(text);
  });

  it('round-trips byte-fallback text, whitespace runs and a byte order mark', () => {
    for (const text of ['👨‍👩‍👧‍👦 family', '  two\tspaces  \n', '\uFEFFbom', 'x\u0000y', '中文 テキスト']) {
      expect(tokenizer.decode(tokenizer.encode(text))).toBe(text);
    }
  });

  it('rejects ids outside the vocabulary with InvalidArgumentError', () => {
    expect(() => tokenizer.decode([5, 3001])).toThrow(InvalidArgumentError);
    expect(() => tokenizer.decode([-1])).toThrow(/not in the vocabulary/);
    expect(() => tokenizer.decode([1.5])).toThrow(InvalidArgumentError);
  });

  it('maps tokens and ids both ways', () => {
    expect(tokenizer.tokenToId('<image>')).toBe(3000);
    expect(tokenizer.idToToken(3000)).toBe('<image>');
    expect(tokenizer.tokenToId('<0x41>')).toBeTypeOf('number');
    expect(tokenizer.tokenToId('no such piece')).toBeUndefined();
    expect(tokenizer.isSpecialId(0)).toBe(true);
    expect(tokenizer.isSpecialId(100)).toBe(false);
  });
});

describe('encodePrompt', () => {
  it('types positions by where they came from', () => {
    const prompt = tokenizer.encodePrompt([
      { type: 'special', token: '<s>' },
      { type: 'text', text: 'USER: ' },
      { type: 'image' },
      { type: 'text', text: '\nWhat is <image>? ' },
      { type: 'text', text: 'ASSISTANT:' },
    ]);
    expect(prompt.ids[0]).toBe(1);
    expect(prompt.types[0]).toBe(2);
    const images = prompt.ids.filter((id) => id === 3000);
    expect(images).toHaveLength(1);
    expect([...prompt.types].filter((type) => type === 1)).toHaveLength(1);
    expect(tokenizer.decode(prompt.ids)).toBe('<s> USER: <image> \nWhat is <image>? ASSISTANT:');
  });

  it('joins adjacent text segments before encoding', () => {
    const split = tokenizer.encodePrompt([
      { type: 'text', text: 'Hel' },
      { type: 'text', text: 'lo wor' },
      { type: 'text', text: 'ld' },
    ]);
    expect(split.ids).toEqual(tokenizer.encode('Hello world'));
  });

  it('throws UnknownSpecialTokenError for tokens the tokenizer lacks', () => {
    let error: unknown;
    try {
      tokenizer.encodePrompt([{ type: 'special', token: '<|im_start|>' }]);
    } catch (caught) {
      error = caught;
    }
    expect(UnknownSpecialTokenError.isInstance(error)).toBe(true);
    expect(MsdError.isInstance(error)).toBe(true);
    expect((error as UnknownSpecialTokenError).token).toBe('<|im_start|>');
    expect((error as Error).message).toContain('"<image>"');
    expect(() => tokenizer.specialTokenId('hello')).toThrow(UnknownSpecialTokenError);
  });

  it('throws EmptyPromptError when nothing encodes', () => {
    expect(() => tokenizer.encodePrompt([])).toThrow(EmptyPromptError);
    expect(() => tokenizer.encodePrompt([{ type: 'text', text: '' }])).toThrow(EmptyPromptError);
  });
});
