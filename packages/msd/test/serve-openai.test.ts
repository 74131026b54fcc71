import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { tinyLlavaExampleImage } from '@msd/tiny-llava';
import OpenAI from 'openai';
import type { ChatCompletionContentPart, ChatCompletionCreateParamsNonStreaming } from 'openai/resources/chat/completions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MsdServer, startServer } from '../src/serve/server';
import { heldoutPrompts } from './heldout-prompts';
import { runCli } from './run-cli';

// The official `openai` client against `msd serve` on loopback, with the bundled model.
const API_KEY = 'test-key';
const QUESTION = 'Describe the image in detail.';
const image = tinyLlavaExampleImage('scene.png');
const imageUrl = `data:image/png;base64,${readFileSync(image).toString('base64')}`;
const allowed = mkdtempSync(join(tmpdir(), 'msd-serve-images-'));
writeFileSync(join(allowed, 'scene.png'), readFileSync(image));

const imageParts = (url = imageUrl, text = QUESTION): ChatCompletionContentPart[] => [
  { type: 'image_url', image_url: { url } },
  { type: 'text', text },
];

function request(overrides: Partial<ChatCompletionCreateParamsNonStreaming> = {}): ChatCompletionCreateParamsNonStreaming {
  return { model: 'tiny-llava', messages: [{ role: 'user', content: imageParts() }], max_tokens: 96, ...overrides };
}

async function metric(server: MsdServer, name: string): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const line = text.split('\n').find((entry) => entry.startsWith(`${name} `));
  return Number(line?.split(' ')[1]);
}

async function until(condition: () => Promise<boolean>, what: string, milliseconds = 10_000): Promise<void> {
  const deadline = Date.now() + milliseconds;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

let server: MsdServer;
let client: OpenAI;
let expected: { text: string; tokenIds: number[] };

beforeAll(async () => {
  server = await startServer({ port: 0, threads: 2, apiKey: API_KEY, maxQueue: 6, maxBodyMb: 2, allowImagesFrom: allowed });
  // The server listens before the model has loaded: health and the API say 503 meanwhile.
  const health = await fetch(`${server.url}/health`);
  const early = await fetch(`${server.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${API_KEY}` },
    body: JSON.stringify(request()),
  });
  await server.ready;
  expect(health.status).toBe(503);
  expect(early.status).toBe(503);
  expect(((await early.json()) as { error: { code: string } }).error.code).toBe('model_loading');
  expect((await fetch(`${server.url}/health`)).status).toBe(200);
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: API_KEY, maxRetries: 0 });
  const cli = runCli(['generate', '--image', image, '--prompt', QUESTION, '--max-new-tokens', '96', '--threads', '2', '--json']);
  expect(cli.status, cli.stderr).toBe(0);
  expected = JSON.parse(cli.stdout);
});

afterAll(async () => {
  await server?.close();
});

describe('msd serve, through the openai client', () => {
  it('lists the model', async () => {
    const models = await client.models.list();
    expect(models.data.map((model) => model.id)).toEqual(['tiny-llava']);
  });

  it('answers a chat completion with an image exactly as msd generate does', async () => {
    const completion = await client.chat.completions.create(request());
    expect(completion.object).toBe('chat.completion');
    expect(completion.choices[0]!.message.content).toBe(expected.text);
    expect(completion.choices[0]!.finish_reason).toBe('stop');
    expect(completion.usage).toEqual({ prompt_tokens: 159, completion_tokens: expected.tokenIds.length + 1, total_tokens: 159 + expected.tokenIds.length + 1 });
    const figures = (completion as unknown as { msd: Record<string, number> }).msd;
    expect(figures.tau).toBeGreaterThan(1.5);
    expect(figures.accepted_tokens).toBeGreaterThan(0);
    expect(figures.decode_tokens_per_second).toBeGreaterThan(0);
  });

  it('streams the same answer, each delta with its token sources, then usage and msd figures', async () => {
    const stream = await client.chat.completions.create({ ...request(), stream: true, stream_options: { include_usage: true } });
    let text = '';
    const sources: string[] = [];
    let usage: OpenAI.CompletionUsage | undefined;
    let finish: string | null = null;
    let figures: Record<string, number> | undefined;
    for await (const chunk of stream) {
      const extra = (chunk as unknown as { msd?: { sources?: string[] } & Record<string, number> }).msd;
      if (chunk.choices[0]) {
        text += chunk.choices[0].delta.content ?? '';
        finish = chunk.choices[0].finish_reason ?? finish;
        sources.push(...(extra?.sources ?? []));
      }
      if (chunk.usage) {
        usage = chunk.usage;
        figures = extra;
      }
    }
    expect(text).toBe(expected.text);
    expect(finish).toBe('stop');
    expect(usage?.completion_tokens).toBe(expected.tokenIds.length + 1);
    expect(sources).toHaveLength(expected.tokenIds.length);
    // Accepted drafted tokens, less an accepted EOS (which ends the answer and has no text).
    const fromDraft = sources.filter((source) => source === 'draft').length;
    expect(fromDraft).toBeGreaterThanOrEqual(figures!.accepted_tokens! - 1);
    expect(fromDraft).toBeLessThanOrEqual(figures!.accepted_tokens!);
  });

  it('decodes concurrent requests in turn, each answer as if it were alone', async () => {
    const text = heldoutPrompts().find((prompt) => prompt.set === 'text-only')!;
    const alone = await client.chat.completions.create({ model: 'tiny-llava', messages: [{ role: 'user', content: text.question }], max_tokens: 48 });
    const answers = await Promise.all(
      [0, 1, 2, 3, 4].map((index) =>
        index % 2
          ? client.chat.completions.create({ model: 'tiny-llava', messages: [{ role: 'user', content: text.question }], max_tokens: 48 })
          : client.chat.completions.create(request()),
      ),
    );
    answers.forEach((answer, index) => {
      expect(answer.choices[0]!.message.content).toBe(index % 2 ? alone.choices[0]!.message.content : expected.text);
    });
  });

  it('honours stop, and samples reproducibly with a seed', async () => {
    const stop = expected.text.split(' ').slice(3, 4).join(' ');
    const stopped = await client.chat.completions.create(request({ stop: [stop] }));
    expect(stopped.choices[0]!.finish_reason).toBe('stop');
    expect(stopped.choices[0]!.message.content).toBe(expected.text.slice(0, expected.text.indexOf(stop)));
    const sampled = () => client.chat.completions.create(request({ temperature: 1, top_p: 0.9, seed: 7, max_tokens: 32 }));
    const [first, second] = [await sampled(), await sampled()];
    expect(first.choices[0]!.message.content).toBe(second.choices[0]!.message.content);
    expect(first.usage!.completion_tokens).toBeGreaterThan(0);
  });

  it('reads a local image only from --allow-images-from', async () => {
    const inside = await client.chat.completions.create(
      request({ messages: [{ role: 'user', content: imageParts(pathToFileURL(join(allowed, 'scene.png')).href) }] }),
    );
    expect(inside.choices[0]!.message.content).toBe(expected.text);
    for (const url of [pathToFileURL(image).href, pathToFileURL(join(allowed, '..', 'etc', 'passwd')).href, `${pathToFileURL(allowed).href}/../scene.png`]) {
      const error = await client.chat.completions.create(request({ messages: [{ role: 'user', content: imageParts(url) }] })).catch((caught) => caught);
      expect(error).toBeInstanceOf(OpenAI.BadRequestError);
      expect(error.code).toBe('local_image_refused');
    }
  });

  it('refuses bad requests with OpenAI error JSON and the right status', async () => {
    const cases: Array<[Partial<ChatCompletionCreateParamsNonStreaming>, string, string | null]> = [
      [{ messages: [{ role: 'user', content: imageParts('https://example.com/cat.png') }] }, 'remote_image_refused', 'messages[0].content[0].image_url.url'],
      [{ messages: [{ role: 'user', content: imageParts('data:image/png;base64,AAAA') }] }, 'unsupported_image_format', null],
      [{ n: 2 }, 'invalid_request', 'n'],
      [{ temperature: 5 }, 'invalid_request', 'temperature'],
      [{ messages: [] }, 'invalid_request', 'messages'],
      [{ stop: ['a', 'b', 'c', 'd', 'e'] }, 'invalid_request', 'stop'],
      [{ tools: [{ type: 'function', function: { name: 'f' } }] }, 'invalid_request', 'tools'],
      [{ messages: [{ role: 'user', content: Array.from({ length: 17 }, () => imageParts()[0]!) }] }, 'too_many_images', 'messages'],
      [{ max_tokens: 5000 }, 'context_too_long', null],
    ];
    for (const [overrides, code, param] of cases) {
      const error = await client.chat.completions.create(request(overrides)).catch((caught) => caught);
      expect(error, code).toBeInstanceOf(OpenAI.BadRequestError);
      expect(error.status).toBe(400);
      expect(error.code).toBe(code);
      expect(error.type).toBe('invalid_request_error');
      if (param) expect(error.param).toBe(param);
    }
    const wrongKey = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'wrong', maxRetries: 0 });
    await expect(wrongKey.chat.completions.create(request())).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
    const noKey = await fetch(`${server.url}/v1/models`);
    expect(noKey.status).toBe(401);
    expect(((await noKey.json()) as { error: { type: string } }).error.type).toBe('authentication_error');
    const big = await fetch(`${server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${API_KEY}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(request({ messages: [{ role: 'user', content: `${'x'.repeat(3 * 1024 * 1024)}` }] })),
    });
    expect(big.status).toBe(413);
    expect(((await big.json()) as { error: { code: string } }).error.code).toBe('body_too_large');
    const badJson = await fetch(`${server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${API_KEY}` },
      body: '{"messages": [',
    });
    expect(badJson.status).toBe(400);
    expect((await fetch(`${server.url}/v1/nothing`, { headers: { Authorization: `Bearer ${API_KEY}` } })).status).toBe(404);
    expect((await fetch(`${server.url}/v1/chat/completions`, { headers: { Authorization: `Bearer ${API_KEY}` } })).status).toBe(405);
    // None of that disturbed the pipeline.
    expect((await client.chat.completions.create(request())).choices[0]!.message.content).toBe(expected.text);
  });

  it('answers 429 once --max-queue requests wait, and serves the rest', async () => {
    const results = await Promise.allSettled(Array.from({ length: 16 }, () => client.chat.completions.create(request())));
    const refused = results.filter((result) => result.status === 'rejected');
    const served = results.filter((result) => result.status === 'fulfilled');
    expect(refused.length).toBeGreaterThan(0);
    for (const result of refused) {
      const error = (result as PromiseRejectedResult).reason;
      expect(error).toBeInstanceOf(OpenAI.RateLimitError);
      expect(error.code).toBe('queue_full');
      expect(error.headers.get('retry-after')).toBe('1');
    }
    // One decoding plus six waiting.
    expect(served.length).toBeGreaterThanOrEqual(7);
    for (const result of served) expect((result as PromiseFulfilledResult<OpenAI.ChatCompletion>).value.choices[0]!.message.content).toBe(expected.text);
    await until(async () => (await metric(server, 'msd_queue_waiting')) === 0 && (await metric(server, 'msd_requests_running')) === 0, 'the queue to drain');
  });

  it('cancels the generation when the client aborts mid-stream, then serves the next request', async () => {
    const cancelledBefore = await metric(server, 'msd_requests_cancelled_total');
    const controller = new AbortController();
    const stream = await client.chat.completions.create({ ...request({ max_tokens: 200 }), stream: true }, { signal: controller.signal });
    let chunks = 0;
    const reading = (async () => {
      for await (const _ of stream) {
        if (++chunks === 3) controller.abort();
      }
    })();
    // The client ends its iteration quietly or with its abort error, depending on where the abort lands.
    await reading.catch((error: Error) => expect(error.name).toMatch(/Abort/));
    // (The client may hand out a few chunks it had already received before it stops.)
    expect(chunks).toBeGreaterThanOrEqual(3);
    await until(async () => (await metric(server, 'msd_requests_cancelled_total')) === cancelledBefore + 1, 'the cancellation');
    expect(await metric(server, 'msd_requests_running')).toBe(0);
    expect((await client.chat.completions.create(request())).choices[0]!.message.content).toBe(expected.text);
  });

  it('serves Prometheus metrics named msd_*', async () => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    for (const name of [
      'msd_requests_total',
      'msd_queue_waiting',
      'msd_completion_tokens_total',
      'msd_tau_bucket',
      'msd_request_duration_seconds_bucket',
      'msd_time_to_first_token_seconds_count',
    ]) {
      expect(text).toContain(name);
    }
    expect(text).toMatch(/msd_requests_total\{endpoint="\/v1\/chat\/completions",status="429"\} [1-9]/);
    for (const line of text.split('\n').filter((entry) => entry && !entry.startsWith('#'))) expect(line).toMatch(/^msd_[a-z_]+(\{[^}]*\})? [0-9.e+-]+$/);
  });
});
