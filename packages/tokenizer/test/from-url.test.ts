import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, normalize } from 'node:path';
import { ConfigError, InvalidArgumentError } from '@msd/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyChatTemplate, fetchTokenizerFiles, Tokenizer, type ChatMessage } from '@msd/tokenizer';
import { fixtureDir, tinyLlavaTokenizerDir } from './helpers';

// Tokenizer.fromUrl is how a page loads a tokenizer; here it fetches the bundled model's files from a local HTTP
// server and must give exactly the ids Tokenizer.fromDirectory gives for the same files.

/** A model folder served at /tiny/, a folder with its chat template beside the config at /separate/, and failures. */
const separateDir = mkdtempSync(join(tmpdir(), 'msd-tokenizer-url-'));
const noTemplateDir = mkdtempSync(join(tmpdir(), 'msd-tokenizer-url-'));
const requests: string[] = [];
let server: Server;
let origin: string;

beforeAll(async () => {
  const config = JSON.parse(readFileSync(join(fixtureDir, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
  delete config.chat_template;
  writeFileSync(join(separateDir, 'tokenizer.json'), readFileSync(join(fixtureDir, 'tokenizer.json')));
  writeFileSync(join(separateDir, 'tokenizer_config.json'), JSON.stringify(config));
  writeFileSync(join(separateDir, 'chat_template.json'), JSON.stringify({ chat_template: "{{ 'from chat_template.json' }}" }));
  writeFileSync(join(noTemplateDir, 'tokenizer.json'), readFileSync(join(fixtureDir, 'tokenizer.json')));
  writeFileSync(join(noTemplateDir, 'tokenizer_config.json'), JSON.stringify(config));
  const roots: Record<string, string> = { tiny: tinyLlavaTokenizerDir, separate: separateDir, 'no-template': noTemplateDir };
  server = createServer(async (request, response) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    requests.push(url.pathname);
    if (url.pathname.startsWith('/broken/')) {
      response.writeHead(500, 'Internal Server Error').end('boom');
      return;
    }
    if (url.pathname === '/bad-json/tokenizer.json') {
      response.end('{"model": ');
      return;
    }
    const [, root, ...rest] = url.pathname.split('/');
    const directory = roots[root ?? ''];
    try {
      const file = directory ? normalize(join(directory, ...rest)) : '';
      if (!directory || !file.startsWith(directory)) throw new Error('outside');
      response.end(await readFile(file));
    } catch {
      response.writeHead(404, 'Not Found').end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

const texts = ['Hello world', '  leading spaces and <image> and </s> typed by a user', 'Grüße, 東京! 🙂\n\ttabs', ''];
const conversation: ChatMessage[] = [
  { role: 'system', content: 'You are a careful assistant.' },
  { role: 'user', content: [{ type: 'image' }, { type: 'text', text: 'What is in the picture? <s> stays text.' }] },
  { role: 'assistant', content: 'A red square.' },
  { role: 'user', content: 'And its colour in French?' },
];

/** The ids a tokenizer gives for plain text, template text and a chat-template prompt. */
function idsOf(tokenizer: Tokenizer): unknown {
  return {
    text: texts.map((text) => tokenizer.encode(text, { addSpecialTokens: true })),
    template: tokenizer.encodeTemplate('<s>USER: <image>\nhi ASSISTANT:'),
    chat: tokenizer.encodePrompt(applyChatTemplate(tokenizer, conversation)),
  };
}

describe('Tokenizer.fromUrl', () => {
  it('gives the same ids as Tokenizer.fromDirectory for the bundled model, plain text and chat template alike', async () => {
    const fromDirectory = await Tokenizer.fromDirectory(tinyLlavaTokenizerDir);
    // No trailing slash: the base URL is a folder whatever its spelling.
    const fromUrl = await Tokenizer.fromUrl(`${origin}/tiny`);
    expect(fromUrl.chatTemplate).toBe(fromDirectory.chatTemplate);
    expect(fromUrl.chatTemplate).toBeTruthy();
    expect(fromUrl.source).toBe(`${origin}/tiny/`);
    expect(idsOf(fromUrl)).toEqual(idsOf(fromDirectory));
    expect(fromUrl.decode(fromUrl.encode(texts[2]!))).toBe(texts[2]);
    // The config carries a chat template, so the optional files are not asked for.
    expect(requests.filter((path) => path.startsWith('/tiny/')).sort()).toEqual(['/tiny/tokenizer.json', '/tiny/tokenizer_config.json']);
  });

  it('works with a custom fetch and a URL object, and passes loading options on', async () => {
    const seen: string[] = [];
    const fetchFromDisk: typeof fetch = async (input) => {
      const url = new URL(String(input));
      seen.push(url.href);
      try {
        return new Response(await readFile(join(tinyLlavaTokenizerDir, url.pathname.split('/').pop()!)));
      } catch {
        return new Response(null, { status: 404 });
      }
    };
    const tokenizer = await Tokenizer.fromUrl(new URL('https://models.example/tiny-llava/?revision=main#x'), { fetch: fetchFromDisk, imageToken: '<image>' });
    expect(seen.sort()).toEqual(['https://models.example/tiny-llava/tokenizer.json', 'https://models.example/tiny-llava/tokenizer_config.json']);
    expect(idsOf(tokenizer)).toEqual(idsOf(await Tokenizer.fromDirectory(tinyLlavaTokenizerDir)));
  });

  it('reads a chat template saved beside the config, treating a 404 on chat_template.jinja as absent', async () => {
    const fromUrl = await Tokenizer.fromUrl(`${origin}/separate/`);
    const fromDirectory = await Tokenizer.fromDirectory(separateDir);
    expect(fromUrl.chatTemplate).toBe("{{ 'from chat_template.json' }}");
    expect(fromUrl.chatTemplate).toBe(fromDirectory.chatTemplate);
    expect(requests).toContain('/separate/chat_template.jinja');
  });

  it('leaves the template out when neither optional file exists', async () => {
    const files = await fetchTokenizerFiles(`${origin}/no-template`);
    expect(files.source).toBe(`${origin}/no-template/`);
    expect(files.tokenizerConfig.chat_template).toBeUndefined();
    expect(requests).toEqual(expect.arrayContaining(['/no-template/chat_template.jinja', '/no-template/chat_template.json']));
    expect(Tokenizer.fromJSON(files).chatTemplate).toBe((await Tokenizer.fromDirectory(noTemplateDir)).chatTemplate);
  });

  it('throws a ConfigError naming the URL for an HTTP error, a 404 of a required file and malformed JSON', async () => {
    const broken = await Tokenizer.fromUrl(`${origin}/broken/`).catch((error: unknown) => error);
    expect(ConfigError.isInstance(broken)).toBe(true);
    expect(broken).toMatchObject({ code: 'tokenizer_file_missing', path: `${origin}/broken/tokenizer.json` });
    expect((broken as Error).message).toContain(`${origin}/broken/tokenizer.json`);
    expect((broken as Error).message).toContain('HTTP 500');

    await expect(Tokenizer.fromUrl(`${origin}/nowhere/`)).rejects.toMatchObject({
      code: 'tokenizer_file_missing',
      path: `${origin}/nowhere/tokenizer.json`,
      message: expect.stringContaining('HTTP 404'),
    });
    await expect(Tokenizer.fromUrl(`${origin}/bad-json/`)).rejects.toMatchObject({
      code: 'tokenizer_file_malformed',
      path: `${origin}/bad-json/tokenizer.json`,
    });
  });

  it('throws a ConfigError for a request that fails, and an InvalidArgumentError for a base that is not a URL', async () => {
    const refused = await Tokenizer.fromUrl('http://127.0.0.1:1/model/').catch((error: unknown) => error);
    expect(ConfigError.isInstance(refused)).toBe(true);
    expect(refused).toMatchObject({ code: 'tokenizer_file_missing', path: 'http://127.0.0.1:1/model/tokenizer.json' });

    const relative = await Tokenizer.fromUrl('models/tiny-llava').catch((error: unknown) => error);
    expect(InvalidArgumentError.isInstance(relative)).toBe(true);
    expect(relative).toMatchObject({ argument: 'baseUrl' });
  });

  it('throws the abort reason when the signal is aborted', async () => {
    const reason = new Error('stop');
    await expect(Tokenizer.fromUrl(`${origin}/tiny/`, { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
  });
});
