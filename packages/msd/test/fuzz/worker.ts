/**
 * A fuzz worker: runs one batch of cases of one kind (see cases.ts) and reports each on stdout as a
 * JSON line when it starts and when it ends. Runs as a child process of harness.ts, which enforces the
 * time limit and the memory cap.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MsdError } from '@msd/core';
import { tinyLlavaDirectory } from '@msd/tiny-llava';
import { applyChatTemplate, buildLlavaPrompt, expandImagePlaceholders, type ChatMessage, type PromptSegment, type Tokenizer } from '@msd/tokenizer';
import { MsdPipeline } from 'msd';
import { revive, type FuzzCase } from './cases';

type Outcome = { outcome: 'ok' | 'typed' | 'untyped' | 'violation' | 'unusable'; detail?: string };

class Violation extends Error {}

const report = (message: object) => process.stdout.write(`${JSON.stringify(message)}\n`);
const scratch = mkdtempSync(join(tmpdir(), 'msd-fuzz-worker-'));
const canary = { prompt: 'What colour is the background?', maxNewTokens: 3 };

let pipeline: MsdPipeline | undefined;
let canaryTokens: string | undefined;
async function sharedPipeline(): Promise<MsdPipeline> {
  pipeline ??= await MsdPipeline.create({ session: { intraOpNumThreads: 1 } });
  canaryTokens ??= JSON.stringify((await pipeline.generate(canary)).tokenIds);
  return pipeline;
}

/** The pipeline answers a fixed request as it did before the case: nothing the case did lingers. */
async function checkUsable(): Promise<void> {
  const tokens = JSON.stringify((await pipeline!.generate(canary)).tokenIds);
  if (tokens !== canaryTokens) throw new Violation(`the canary request gave ${tokens}, not ${canaryTokens}`);
}

function imageInput(input: FuzzCase & { kind: 'image' }): string | Uint8Array {
  const source = input.input;
  if (source.type === 'bytes') return Buffer.from(source.base64, 'base64');
  if (source.type === 'data-url') return source.url;
  if (source.type === 'fifo') {
    const path = join(scratch, `fifo-${Math.random().toString(36).slice(2)}`);
    execFileSync('mkfifo', [path]);
    return path;
  }
  return source.path;
}

/** Ids of special tokens (image tokens included) in a prompt, in order. */
function specialIds(tokenizer: Tokenizer, ids: readonly number[]): number[] {
  return ids.filter((id) => tokenizer.isSpecialId(id));
}

/** The same conversation with every user-controlled string replaced by 'x'. */
function skeleton(messages: ChatMessage[]): ChatMessage[] {
  return messages.map((message) => ({
    ...(Object.fromEntries(Object.entries(message).map(([key, value]) => [key, typeof value === 'string' && key !== 'role' ? 'x' : value])) as ChatMessage),
    role: message.role,
    content: typeof message.content === 'string' ? 'x' : message.content.map((part) => (part.type === 'text' ? { type: 'text', text: 'x' } : part)),
  }));
}

function checkPromptPath(tokenizer: Tokenizer, render: (messages: ChatMessage[]) => PromptSegment[], messages: ChatMessage[], images: number): void {
  const expand = (segments: PromptSegment[]) => expandImagePlaceholders(tokenizer.encodePrompt(segments), { imageTokensPerImage: 144, imageCount: images });
  const fuzzed = expand(render(messages));
  const expected = expand(render(skeleton(messages)));
  const got = specialIds(tokenizer, fuzzed.ids);
  const want = specialIds(tokenizer, expected.ids);
  if (JSON.stringify(got) !== JSON.stringify(want)) {
    throw new Violation(`user strings changed the special tokens: ${got.length} special ids instead of ${want.length}`);
  }
}

async function runUnicode(input: FuzzCase & { kind: 'unicode' }): Promise<void> {
  const pipe = await sharedPipeline();
  const tokenizer = pipe.tokenizer;
  const whole = input.parts.join('');
  const ids = tokenizer.encode(whole);
  const injected = ids.filter((id) => tokenizer.isSpecialId(id));
  if (injected.length) throw new Violation(`encode() of user text produced special ids ${injected.slice(0, 5).join(', ')}`);
  const content = [
    ...Array.from({ length: input.images }, () => ({ type: 'image' as const })),
    ...input.parts.map((text) => ({ type: 'text' as const, text })),
  ];
  const messages = [{ role: input.role, content, ...(input.name === undefined ? {} : { name: input.name }) }] as ChatMessage[];
  // Every path runs, even after another refused the input with a typed error (an unknown role is refused
  // by LLaVA's prompt format but rendered by a chat template): a refusal must not hide an injection.
  let refused: unknown;
  const attempt = async (path: () => unknown) => {
    try {
      await path();
    } catch (error) {
      if (!MsdError.isInstance(error)) throw error;
      refused ??= error;
    }
  };
  await attempt(() => checkPromptPath(tokenizer, (list) => buildLlavaPrompt(list), messages, input.images));
  await attempt(() => checkPromptPath(tokenizer, (list) => applyChatTemplate(tokenizer, list, { template: input.template }), messages, input.images));
  if (input.generate) await attempt(() => pipe.generate({ prompt: whole, maxNewTokens: 2 }));
  if (refused) throw refused;
}

async function runCase(input: FuzzCase): Promise<void> {
  if (input.kind === 'image') {
    const pipe = await sharedPipeline();
    await pipe.generate({ prompt: 'Describe the image.', images: [imageInput(input)], maxNewTokens: 2 });
  } else if (input.kind === 'options') {
    const pipe = await sharedPipeline();
    await pipe.generate(revive(input.options) as never);
  } else if (input.kind === 'unicode') {
    await runUnicode(input);
  } else if (input.kind === 'create') {
    const created = await MsdPipeline.create(revive(input.options) as never);
    try {
      await created.generate({ prompt: 'Hi', maxNewTokens: 2 });
    } finally {
      await created.close();
    }
  } else if (input.kind === 'manifest') {
    await runManifest(input);
  }
}

let modelCopy: string | undefined;
let manifestText: string | undefined;
async function runManifest(input: FuzzCase & { kind: 'manifest' }): Promise<void> {
  if (!modelCopy) {
    modelCopy = join(scratch, 'model');
    cpSync(tinyLlavaDirectory(), modelCopy, { recursive: true });
    manifestText = readFileSync(join(modelCopy, 'manifest.json'), 'utf8');
  }
  const manifest = JSON.parse(manifestText!) as Record<string, unknown>;
  applyMutation(manifest, input.path, input.operation, revive(input.value));
  writeFileSync(join(modelCopy, 'manifest.json'), JSON.stringify(manifest));
  const created = await MsdPipeline.create({ modelDirectory: modelCopy, session: { intraOpNumThreads: 1 } });
  try {
    await created.generate({ prompt: 'Hi', maxNewTokens: 2 });
  } finally {
    await created.close();
  }
}

function applyMutation(root: Record<string, unknown>, path: string[], operation: 'set' | 'delete', value: unknown): void {
  let node: Record<string, unknown> = root;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string, unknown>;
  const last = path[path.length - 1]!;
  if (operation === 'delete') delete node[last];
  else node[last] = value;
}

async function classify(input: FuzzCase): Promise<Outcome> {
  try {
    await runCase(input);
    return { outcome: 'ok' };
  } catch (error) {
    if (error instanceof Violation) return { outcome: 'violation', detail: error.message };
    if (MsdError.isInstance(error) && typeof error.code === 'string' && error.code.length > 0) return { outcome: 'typed', detail: error.code };
    return { outcome: 'untyped', detail: String((error as Error)?.stack ?? error).slice(0, 500) };
  }
}

async function main(): Promise<void> {
  const batch = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as { start: number; cases: FuzzCase[] };
  for (const [offset, input] of batch.cases.entries()) {
    const id = batch.start + offset;
    report({ event: 'start', id });
    const began = performance.now();
    let result = await classify(input);
    if ((result.outcome === 'ok' || result.outcome === 'typed') && pipeline) {
      try {
        await checkUsable();
      } catch (error) {
        result = { outcome: 'unusable', detail: String((error as Error)?.message ?? error) };
      }
    }
    report({ event: 'done', id, ...result, milliseconds: Math.round(performance.now() - began) });
  }
  await pipeline?.close();
  rmSync(scratch, { recursive: true, force: true });
}

main().then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`${String((error as Error)?.stack ?? error)}\n`);
    process.exit(1);
  },
);
