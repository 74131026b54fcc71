/**
 * Issue 11: every bad input gets a typed error, fast, before the expensive work; streams, aborts and
 * close behave as documented; a seed makes sampling reproducible.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AbortedError, ConfigError, InvalidArgumentError, LimitExceededError, MsdError } from '@msd/core';
import { tinyLlavaDirectory } from '@msd/tiny-llava';
import { readModelDirectory } from '@msd/models';
import { MsdPipeline } from 'msd';
import { heldoutPrompts } from './heldout-prompts';

let pipeline: MsdPipeline;
const image = () => heldoutPrompts().find((prompt) => prompt.set === 'multimodal')!.images[0]!;
const question = { prompt: 'Describe the image.', images: [image()], maxNewTokens: 24 };
const scratch = mkdtempSync(join(tmpdir(), 'msd-hardening-'));
beforeAll(async () => {
  pipeline = await MsdPipeline.create({ session: { intraOpNumThreads: 2 } });
});
afterAll(async () => {
  await pipeline?.close();
  rmSync(scratch, { recursive: true, force: true });
});

async function caught(work: () => Promise<unknown>): Promise<unknown> {
  try {
    await work();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error');
}

/** Resolves with `promise`'s outcome, or fails when it takes longer than `milliseconds`. */
function within<T>(promise: Promise<T>, milliseconds: number): Promise<T> {
  return Promise.race([promise, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`still pending after ${milliseconds} ms`)), milliseconds))]);
}

describe('streams', () => {
  it('result settles when the consumer leaves the loop early, and the pipeline stays usable', async () => {
    const stream = pipeline.stream(question);
    for await (const _ of stream) break;
    const error = await within(
      stream.result.catch((rejected: unknown) => rejected),
      5000,
    );
    expect(AbortedError.isInstance(error)).toBe(true);
    expect((await within(pipeline.generate(question), 20000)).tokenIds.length).toBeGreaterThan(0);
  });

  it('result of a stream never iterated runs the generation', async () => {
    const expected = await pipeline.generate(question);
    const result = await within(pipeline.stream(question).result, 20000);
    expect(result.tokenIds).toEqual(expected.tokenIds);
  });

  it('a dropped iterator does not keep the pipeline busy', async () => {
    const iterator = pipeline.stream(question)[Symbol.asyncIterator]();
    await iterator.next();
    // The iterator is dropped without return(): the next generation must still run.
    const result = await within(pipeline.generate(question), 20000);
    expect(result.tokenIds.length).toBeGreaterThan(0);
  });

  it('concurrent generations take turns and give the same tokens as one at a time', async () => {
    const alone = await pipeline.generate(question);
    const results = await within(Promise.all(Array.from({ length: 4 }, () => pipeline.generate(question))), 60000);
    for (const result of results) expect(result.tokenIds).toEqual(alone.tokenIds);
  });

  it('a stream generates once: a second iteration is a typed error', async () => {
    const stream = pipeline.stream(question);
    let deltas = 0;
    for await (const _ of stream) deltas++;
    expect(deltas).toBeGreaterThan(0);
    const error = await caught(async () => {
      for await (const _ of stream) deltas++;
    });
    expect(MsdError.isInstance(error) && error.code).toBe('stream_consumed');
  });
});

describe('abort', () => {
  it('an already-aborted signal stops before any image is read, with an AbortError', async () => {
    const signal = AbortSignal.abort();
    const error = await caught(() => pipeline.generate({ prompt: 'Hi', images: ['/nonexistent/image.png'], signal }));
    expect(AbortedError.isInstance(error)).toBe(true);
    expect((error as Error).name).toBe('AbortError');
    expect(MsdError.isInstance(error) && error.code).toBe('aborted');
  });

  it('no delta arrives after the abort', async () => {
    const controller = new AbortController();
    let after = 0;
    const error = await caught(async () => {
      for await (const _ of pipeline.stream({ ...question, maxNewTokens: 40, adaptive: false, signal: controller.signal })) {
        if (controller.signal.aborted) after++;
        controller.abort();
      }
    });
    expect(AbortedError.isInstance(error)).toBe(true);
    expect(after).toBe(0);
  });
});

describe('close', () => {
  it('is idempotent; generating afterwards is a typed error; an open stream ends with it', async () => {
    const own = await MsdPipeline.create({ session: { intraOpNumThreads: 1 } });
    const stream = own.stream({ ...question, maxNewTokens: 40 });
    const iterator = stream[Symbol.asyncIterator]();
    await iterator.next();
    await own.close();
    await own.close();
    const open = await caught(() => iterator.next());
    expect(MsdError.isInstance(open) && open.code).toBe('pipeline_closed');
    const later = await caught(() => own.generate(question));
    expect(MsdError.isInstance(later) && later.code).toBe('pipeline_closed');
  });
});

describe('sampling with a seed is reproducible', () => {
  it('identical calls give identical outputs, with or without drafting', async () => {
    const options = { prompt: 'Describe the image in detail.', images: [image()], temperature: 0.9, seed: 7, maxNewTokens: 32 };
    const outputs = new Set<string>();
    for (let call = 0; call < 8; call++) outputs.add(JSON.stringify((await pipeline.generate(options)).tokenIds));
    outputs.add(JSON.stringify((await pipeline.generate({ ...options, speculative: false })).tokenIds));
    outputs.add(JSON.stringify((await pipeline.generate({ ...options, adaptive: false })).tokenIds));
    expect(outputs.size).toBe(1);
    // The seed matters. The model describes its scenes almost deterministically (image answers' loss
    // 0.06), so this part asks an open text question, where its distribution is wide.
    const open = { prompt: 'Tell me about 64tass.', temperature: 1, maxNewTokens: 24 };
    const first = JSON.stringify((await pipeline.generate({ ...open, seed: 7 })).tokenIds);
    expect(JSON.stringify((await pipeline.generate({ ...open, seed: 7 })).tokenIds)).toBe(first);
    expect(JSON.stringify((await pipeline.generate({ ...open, seed: 8 })).tokenIds)).not.toBe(first);
  });

  it('a subnormal temperature samples the argmax instead of failing', async () => {
    const greedy = await pipeline.generate(question);
    expect((await pipeline.generate({ ...question, temperature: 5e-324 })).tokenIds).toEqual(greedy.tokenIds);
  });
});

describe('request checks come before the expensive work', () => {
  it('bad option types give InvalidArgumentError naming the option', async () => {
    const cases: Array<[string, unknown]> = [
      ['prompt', { prompt: 42 }],
      ['images', { prompt: 'Hi', images: 'a.png' }],
      ['options', null],
      ['images[0]', { prompt: 'Hi', images: [null] }],
      ['messages', { messages: 'Hi' }],
      ['messages[0]', { messages: [null] }],
      ['stopStrings', { prompt: 'Hi', stopStrings: 5 }],
      ['maxNewTokens', { prompt: 'Hi', maxNewTokens: '5' }],
      ['signal', { prompt: 'Hi', signal: {} }],
      ['tree.branching', { prompt: 'Hi', tree: { branching: 0 } }],
      ['tree.topK', { prompt: 'Hi', tree: { depth: 4, topK: 2, totalTokens: 6 } }],
    ];
    for (const [argument, options] of cases) {
      const error = await caught(() => pipeline.generate(options as never));
      expect(InvalidArgumentError.isInstance(error), `${argument}: ${String(error)}`).toBe(true);
      expect((error as InvalidArgumentError).argument).toBe(argument);
    }
  });

  it('too many images fail at once, before any image is read', async () => {
    const png = readFileSync(image());
    for (const count of [100_000, 1_000_000]) {
      const started = performance.now();
      const error = await caught(() => pipeline.generate({ prompt: 'Compare them.', images: Array.from({ length: count }, () => png) }));
      expect(LimitExceededError.isInstance(error) && error.code).toBe('too_many_images');
      expect(performance.now() - started).toBeLessThan(1000);
    }
  });

  it('limits are configurable', async () => {
    const strict = await MsdPipeline.create({ session: { intraOpNumThreads: 1 }, limits: { maxImages: 1, maxPromptCharacters: 10 } });
    try {
      const images = await caught(() => strict.generate({ prompt: 'Compare.', images: [image(), image()] }));
      expect(LimitExceededError.isInstance(images) && images.max).toBe(1);
      const text = await caught(() => strict.generate({ prompt: 'Describe the image, please.' }));
      expect(LimitExceededError.isInstance(text) && text.limit).toBe('maxPromptCharacters');
      expect((await strict.generate({ prompt: 'Hi', maxNewTokens: 2 })).tokenIds.length).toBeGreaterThan(0);
    } finally {
      await strict.close();
    }
  });

  it('a text part without text is an error, not the word "undefined"', async () => {
    const error = await caught(() => pipeline.generate({ messages: [{ role: 'user', content: [{ type: 'text' } as never] }] }));
    expect(InvalidArgumentError.isInstance(error), String(error)).toBe(true);
  });

  it("a prompt under the pipeline's character limit is not refused by the tokenizer's", async () => {
    const roomy = await MsdPipeline.create({ session: { intraOpNumThreads: 1 }, limits: { maxPromptCharacters: 60_000 } });
    try {
      // 55,000 characters pass the pipeline's limit; the tokenizer's own default (50,000) must not refuse them.
      const error = await caught(() => roomy.generate({ prompt: 'a '.repeat(27_500) }));
      expect(MsdError.isInstance(error) && error.code).toBe('context_too_long');
    } finally {
      await roomy.close();
    }
  });

  it('a prompt over the character limit fails before tokenizing', async () => {
    const started = performance.now();
    const error = await caught(() => pipeline.generate({ prompt: 'x'.repeat(1_000_000) }));
    expect(LimitExceededError.isInstance(error) && error.code).toBe('prompt_too_long');
    expect((error as LimitExceededError).limit).toBe('maxPromptCharacters');
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('a prompt too long for the context fails before its images are read', async () => {
    const error = await caught(() => pipeline.generate({ prompt: 'Compare them.', images: Array.from({ length: 8 }, () => '/nonexistent/image.png') }));
    expect(MsdError.isInstance(error) && error.code).toBe('context_too_long');
  });

  it('one stop string is one string, not its characters', async () => {
    const full = await pipeline.generate(question);
    // A word with a character that occurs earlier in the answer: split into characters, it would stop there.
    const word = full.text
      .split(/\s+/)
      .slice(1)
      .find((candidate) => candidate.length > 1 && [...candidate].some((character) => full.text.indexOf(character) < full.text.indexOf(candidate)))!;
    expect(word).toBeDefined();
    const stopped = await pipeline.generate({ ...question, stopStrings: word });
    expect(stopped.finishReason).toBe('stop');
    expect(stopped.text).toBe(full.text.slice(0, full.text.indexOf(word)));
  });
});

describe('pipeline options', () => {
  it("a tree wider than the draft's candidates fails before any model call, naming tree.branching", async () => {
    const wide = await caught(() => pipeline.generate({ ...question, tree: { branching: 11 } }));
    expect(InvalidArgumentError.isInstance(wide) && wide.argument).toBe('tree.branching');
    expect((wide as Error).message).toMatch(/from 1 to 10/);
    const started = performance.now();
    const atCreate = await caught(() => MsdPipeline.create({ tree: { branching: 11 } }));
    expect(InvalidArgumentError.isInstance(atCreate) && atCreate.argument).toBe('tree.branching');
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('a tree that is not an object is a typed error, not a default used without a word', async () => {
    for (const tree of [5, 'deep', [], null]) {
      const error = await caught(() => MsdPipeline.create({ tree: tree as never }));
      expect(InvalidArgumentError.isInstance(error) && error.argument).toBe('tree');
    }
    const sampling = await caught(() => MsdPipeline.create({ samplingTree: 'wide' as never }));
    expect(InvalidArgumentError.isInstance(sampling) && sampling.argument).toBe('samplingTree');
  });

  it('bad thread counts are typed errors that do not blame the model', async () => {
    const negative = await caught(() => MsdPipeline.create({ session: { intraOpNumThreads: -1 } }));
    expect(InvalidArgumentError.isInstance(negative) && negative.argument).toBe('session.intraOpNumThreads');
    const draftNegative = await caught(() => MsdPipeline.create({ draftSession: { intraOpNumThreads: -1 } }));
    expect(InvalidArgumentError.isInstance(draftNegative) && draftNegative.argument).toBe('draftSession.intraOpNumThreads');
    const started = performance.now();
    const many = await caught(() => MsdPipeline.create({ session: { intraOpNumThreads: 100_000 } }));
    expect(LimitExceededError.isInstance(many) && many.code).toBe('too_many_threads');
    expect(performance.now() - started).toBeLessThan(1000);
    const limits = await caught(() => MsdPipeline.create({ limits: { maxImages: 0 } }));
    expect(InvalidArgumentError.isInstance(limits) && limits.argument).toBe('limits.maxImages');
  });
});

/** A manifest as JSON, mutated freely by the fault cases. */
// biome-ignore lint/suspicious/noExplicitAny: the fault cases reach into any field
type ManifestJson = Record<string, any>;

describe('the model directory is validated at load', () => {
  function brokenManifest(name: string, change: (manifest: ManifestJson) => void): string {
    const directory = join(scratch, name);
    cpSync(tinyLlavaDirectory(), directory, { recursive: true });
    const path = join(directory, 'manifest.json');
    const manifest = JSON.parse(readFileSync(path, 'utf8'));
    change(manifest);
    writeFileSync(path, JSON.stringify(manifest));
    return directory;
  }

  const faults: Array<[string, (manifest: ManifestJson) => void, RegExp]> = [
    ['no graphs', (manifest) => delete manifest.graphs, /graphs must be an object/],
    ['no decoder', (manifest) => delete manifest.graphs.decoder, /graphs\.decoder must be an object/],
    ['wrong hiddenSize', (manifest) => (manifest.hiddenSize = 512), /hiddenSize is 512/],
    ['wrong numLayers', (manifest) => (manifest.numLayers = 4), /numLayers is 4/],
    ['wrong headDim', (manifest) => (manifest.headDim = 32), /headDim is 32/],
    ['huge imageTokensPerImage', (manifest) => (manifest.imageTokensPerImage = 1e9), /imageTokensPerImage must be an integer/],
    ['eosTokenId outside the vocabulary', (manifest) => (manifest.eosTokenId = 99999), /eosTokenId must be an integer/],
    ['graph file outside the directory', (manifest) => (manifest.graphs.decoder.file = '../../../../etc/passwd'), /inside the model directory/],
    ['draft topK 0', (manifest) => (manifest.drafts.msd.topK = 0), /topK must be an integer/],
    ['defaultDraft without the draft', (manifest) => (manifest.defaultDraft = 'nope'), /defaultDraft names 'nope'/],
    ['a dtype that does not exist', (manifest) => (manifest.graphs.decoder.inputs[0].dtype = 'float128'), /dtype must be one of/],
  ];
  it.each(faults)('%s', (name, change, message) => {
    const error = (() => {
      try {
        readModelDirectory(brokenManifest(name.replace(/\W+/g, '-'), change));
      } catch (thrown) {
        return thrown;
      }
    })();
    expect(ConfigError.isInstance(error) && error.code, String(error)).toBe('invalid_manifest');
    expect((error as Error).message).toMatch(message);
  });

  it('a manifest without drafts loads, and decodes autoregressively', async () => {
    const directory = brokenManifest('no-drafts', (manifest) => {
      delete manifest.drafts;
      delete manifest.defaultDraft;
    });
    const plain = await MsdPipeline.create({ modelDirectory: directory, session: { intraOpNumThreads: 1 } });
    try {
      expect(plain.draft).toBeUndefined();
      const expected = await pipeline.generate({ ...question, speculative: false });
      expect((await plain.generate(question)).tokenIds).toEqual(expected.tokenIds);
    } finally {
      await plain.close();
    }
  });

  it('a symbolic link out of the directory is refused', () => {
    const directory = join(scratch, 'symlink');
    cpSync(tinyLlavaDirectory(), directory, { recursive: true });
    rmSync(join(directory, 'onnx', 'embed_tokens.onnx'));
    symlinkSync('/etc/hostname', join(directory, 'onnx', 'embed_tokens.onnx'));
    expect(() => readModelDirectory(directory)).toThrow(/leads outside the model directory/);
  });

  it('an EOS id the tokenizer does not use as EOS fails at create, not at generate', async () => {
    const directory = brokenManifest('eos-not-eos', (manifest) => (manifest.eosTokenId = 5));
    const error = await caught(() => MsdPipeline.create({ modelDirectory: directory }));
    expect(ConfigError.isInstance(error) && error.code).toBe('invalid_manifest');
    expect((error as Error).message).toMatch(/EOS token is 2/);
  });
});
