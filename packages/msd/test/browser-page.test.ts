import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { tinyLlavaDirectory, tinyLlavaExampleImage } from '@msd/tiny-llava';
import { chiSquareSurvival } from '@msd/verifier';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../bench/headless-chromium';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildBrowserExample } from '../../../examples/browser/build';
import { type ExampleServer, startExampleServer } from '../../../examples/browser/serve';
import { MsdPipeline } from '../src/pipeline';
import { type HeldoutPrompt, heldoutPrompts } from './heldout-prompts';

// The browser example (examples/browser) in headless Chromium: msd's BrowserPipeline on onnxruntime-web,
// checked token for token against the Node pipeline on onnxruntime-node. Chromium is the Debian package
// (scripts/install-system-deps.sh); playwright-core downloads no browser. WebGPU here is SwiftShader, a
// CPU emulation about 150 times slower than WASM: that run checks parity on two short answers only.

const LOAD_TIMEOUT_MS = 240_000;
const HELDOUT_DIRECTORY = join(tinyLlavaDirectory(), '..', 'heldout');

/** `window.msdTest.run`'s options and result (examples/browser/main.ts), as plain data. */
interface RunOptions {
  prompt: string;
  images?: string[];
  maxNewTokens?: number;
  temperature?: number;
  seed?: number;
  speculative?: boolean;
  adaptive?: boolean;
}
interface RunResult {
  text: string;
  tokenIds: number[];
  finishReason: string;
  stats: { tokens: number; tau: number; steps: number; draftedTokens: number; acceptedTokens: number; decodeTokensPerSecond: number };
}
interface TestWindow {
  msdTest: { run(options: RunOptions): Promise<RunResult> };
}

let outDirectory: string;
let server: ExampleServer;
let browser: Browser;
let node: MsdPipeline;
let wasmPage: Page | undefined;
const pages: Page[] = [];
const consoleErrors: string[] = [];
const failedRequests: string[] = [];

beforeAll(async () => {
  outDirectory = await mkdtemp(join(tmpdir(), 'msd-browser-example-'));
  const built = await buildBrowserExample({ outDirectory });
  console.log(`browser example: main.js ${built.script.bytes} bytes, ${built.script.gzipBytes} gzipped`);
  server = await startExampleServer({ port: 0, root: outDirectory });
  browser = await launchChromium();
  node = await MsdPipeline.create({ session: { intraOpNumThreads: 2 } });
}, LOAD_TIMEOUT_MS);

afterAll(async () => {
  await Promise.allSettled(pages.map((page) => page.close()));
  await browser?.close();
  await server?.close();
  await node?.close();
  if (outDirectory) await rm(outDirectory, { recursive: true, force: true });
});

afterEach(() => {
  // Every page of every test: nothing logged as an error, no request failed.
  expect(consoleErrors).toEqual([]);
  expect(failedRequests).toEqual([]);
});

/** Opens the example with `query` in `on` and waits until its pipeline has loaded. */
async function openPage(on: Browser, query: string): Promise<Page> {
  const page = await on.newPage({ viewport: { width: 1100, height: 900 } });
  pages.push(page);
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(`${page.url()}: ${message.text()}`);
  });
  page.on('pageerror', (error) => consoleErrors.push(`${page.url()}: uncaught ${error.message}`));
  page.on('requestfailed', (request) => failedRequests.push(`${request.method()} ${request.url()}: ${request.failure()?.errorText}`));
  page.on('response', (response) => {
    if (response.status() >= 400) failedRequests.push(`${response.request().method()} ${response.url()}: ${response.status()}`);
  });
  await page.goto(`${server.url}/${query}`);
  await page.waitForSelector('body[data-state="ready"], body[data-state="error"]', { timeout: LOAD_TIMEOUT_MS });
  expect(await page.locator('body').getAttribute('data-state'), `the page's error box: ${await page.locator('#error').textContent()}`).toBe('ready');
  return page;
}

/** The WASM page every test of that device shares: 2 threads, as the Node pipeline. */
async function sharedWasmPage(): Promise<Page> {
  wasmPage ??= await openPage(browser, '?device=wasm&threads=2');
  return wasmPage;
}

function run(page: Page, options: RunOptions): Promise<RunResult> {
  return page.evaluate((given) => (globalThis as unknown as TestWindow).msdTest.run(given), options);
}

/** Several runs inside the page, one after the other, without a round trip each. */
function runMany(page: Page, list: RunOptions[]): Promise<RunResult[]> {
  return page.evaluate(async (given) => {
    const results: RunResult[] = [];
    for (const options of given) results.push(await (globalThis as unknown as TestWindow).msdTest.run(options));
    return results;
  }, list);
}

/** A held-out image's URL on the example server. */
function imageUrl(path: string): string {
  return `/heldout/${relative(HELDOUT_DIRECTORY, path).split('\\').join('/')}`;
}

function pick(set: HeldoutPrompt['set'], count: number): HeldoutPrompt[] {
  return heldoutPrompts()
    .filter((prompt) => prompt.set === set)
    .slice(0, count);
}

function maxNewTokensOf(prompt: HeldoutPrompt): number {
  return prompt.set === 'detailed' ? 96 : 48;
}

/**
 * Pearson's chi-square test of homogeneity: do the samples (one array of categories each) come from one
 * distribution? Categories with fewer than 5 expected counts in a sample are pooled into one.
 */
function homogeneity(samples: number[][]): { statistic: number; dof: number; pValue: number; cells: number } {
  const totals = samples.map((sample) => sample.length);
  const grand = totals.reduce((sum, count) => sum + count, 0);
  const categories = new Map<number, number[]>();
  for (const [index, sample] of samples.entries()) {
    for (const category of sample) {
      const counts = categories.get(category) ?? samples.map(() => 0);
      counts[index]!++;
      categories.set(category, counts);
    }
  }
  const smallest = Math.min(...totals);
  const rows: number[][] = [];
  const pooled = samples.map(() => 0);
  for (const counts of categories.values()) {
    const all = counts.reduce((sum, count) => sum + count, 0);
    if ((all * smallest) / grand < 5) counts.forEach((count, index) => (pooled[index]! += count));
    else rows.push(counts);
  }
  if (pooled.some((count) => count > 0)) rows.push(pooled);
  let statistic = 0;
  for (const counts of rows) {
    const all = counts.reduce((sum, count) => sum + count, 0);
    counts.forEach((count, index) => {
      const expected = (all * totals[index]!) / grand;
      statistic += (count - expected) ** 2 / expected;
    });
  }
  const dof = Math.max(1, (rows.length - 1) * (samples.length - 1));
  return { statistic, dof, pValue: chiSquareSurvival(statistic, dof), cells: rows.length };
}

describe('the browser example on WASM (onnxruntime-web, 2 threads)', () => {
  it('decodes greedily token for token as the Node pipeline, on held-out prompts of every set', { timeout: 900_000 }, async () => {
    const prompts = [...pick('multimodal', 6), ...pick('two-image', 4), ...pick('text-only', 6), ...pick('detailed', 6)];
    expect(prompts.length).toBeGreaterThanOrEqual(20);
    // Node first, alone on the CPU, then the page.
    const expected = [];
    for (const prompt of prompts) {
      expected.push(await node.generate({ prompt: prompt.question, images: prompt.images, maxNewTokens: maxNewTokensOf(prompt), speculative: true }));
    }
    const page = await sharedWasmPage();
    expect(await page.locator('#device').textContent()).toMatch(/^wasm/);
    const counts: Record<string, [identical: number, prompts: number]> = {};
    const mismatches: string[] = [];
    let tau = 0;
    for (const [index, prompt] of prompts.entries()) {
      const options = { prompt: prompt.question, images: prompt.images.map(imageUrl), maxNewTokens: maxNewTokensOf(prompt), speculative: true };
      const result = await run(page, options);
      const same = JSON.stringify(result.tokenIds) === JSON.stringify(expected[index]!.tokenIds);
      const count = counts[prompt.set] ?? [0, 0];
      counts[prompt.set] = [count[0] + (same ? 1 : 0), count[1] + 1];
      tau += result.stats.tau;
      if (!same) mismatches.push(`${prompt.set}: ${prompt.question}\n  page: ${JSON.stringify(result.text)}\n  node: ${JSON.stringify(expected[index]!.text)}`);
    }
    console.log(`browser WASM greedy MSD = Node (identical / prompts): ${JSON.stringify(counts)}, mean tau ${(tau / prompts.length).toFixed(2)}`);
    expect(mismatches).toEqual([]);

    // Without speculation the page's target alone writes the same tokens.
    const plainPrompts = [pick('multimodal', 1)[0]!, pick('two-image', 1)[0]!, pick('text-only', 1)[0]!, pick('detailed', 1)[0]!];
    for (const prompt of plainPrompts) {
      const index = prompts.findIndex((candidate) => candidate.question === prompt.question);
      const plain = await run(page, { prompt: prompt.question, images: prompt.images.map(imageUrl), maxNewTokens: maxNewTokensOf(prompt), speculative: false });
      expect(plain.tokenIds, `speculative: false, ${prompt.set}: ${prompt.question}`).toEqual(expected[index]!.tokenIds);
      expect(plain.stats.tau).toBe(1);
      expect(plain.stats.draftedTokens).toBe(0);
    }
  });

  it('samples at temperature 1 from the same distribution with and without speculation', { timeout: 600_000 }, async () => {
    const page = await sharedWasmPage();
    // A text-only prompt whose second token is spread over a few dozen tokens at T=1 (most cells large
    // enough to count), and where the draft's guesses are taken often enough to matter.
    const prompt = (heldoutPrompts().find((candidate) => candidate.question === 'What does med-physics do?') ?? pick('text-only', 1)[0]!).question;
    // Two tokens: the prefill samples the first; the second is the first one a speculative step decides
    // (accepted from the draft's tree or the target's bonus token), whose distribution is compared.
    const sample = { prompt, maxNewTokens: 2, temperature: 1, adaptive: false };
    const samples = 800;
    const seeds = (from: number) => Array.from({ length: samples }, (_, index) => from + index);
    const started = performance.now();
    const speculative = await runMany(
      page,
      seeds(0).map((seed) => ({ ...sample, seed, speculative: true })),
    );
    const plain = await runMany(
      page,
      seeds(samples).map((seed) => ({ ...sample, seed, speculative: false })),
    );
    const seconds = (performance.now() - started) / 1000;
    const nodePlain = [];
    for (const seed of seeds(2 * samples)) nodePlain.push(await node.generate({ ...sample, seed, speculative: false }));
    // The second token, or -1 when the answer ended after one.
    const second = (results: { tokenIds: number[] }[]) => results.map((result) => result.tokenIds[1] ?? -1);
    const accepted = speculative.reduce((sum, result) => sum + result.stats.acceptedTokens, 0);
    const drafted = speculative.reduce((sum, result) => sum + result.stats.draftedTokens, 0);
    const pageTest = homogeneity([second(speculative), second(plain)]);
    const nodeTest = homogeneity([second(speculative), second(nodePlain)]);
    console.log(
      `browser sampling, T=1, "${prompt}", ${samples} seeds each (${seconds.toFixed(0)} s in the page): ` +
        `MSD vs autoregressive in the page chi2 ${pageTest.statistic.toFixed(2)} over ${pageTest.cells} cells, p = ${pageTest.pValue.toFixed(3)}; ` +
        `page MSD vs Node autoregressive chi2 ${nodeTest.statistic.toFixed(2)} over ${nodeTest.cells} cells, p = ${nodeTest.pValue.toFixed(3)}; ` +
        `${accepted} of ${drafted} drafted tokens accepted`,
    );
    // Speculation ran: every speculative generation drafted, and the draft's tokens were taken at times.
    expect(drafted).toBeGreaterThan(0);
    expect(accepted).toBeGreaterThan(0);
    expect(pageTest.cells).toBeGreaterThan(2);
    expect(pageTest.pValue).toBeGreaterThan(0.001);
    expect(nodeTest.pValue).toBeGreaterThan(0.001);

    // Stronger, position by position: each output position draws from its own seeded source, so with one
    // seed MSD's sample is exactly the autoregressive one.
    const sameSeeds = seeds(0).slice(0, 40);
    const replayed = await runMany(
      page,
      sameSeeds.map((seed) => ({ ...sample, maxNewTokens: 12, seed, speculative: false })),
    );
    const replayedSpeculative = await runMany(
      page,
      sameSeeds.map((seed) => ({ ...sample, maxNewTokens: 12, seed, speculative: true })),
    );
    expect(replayedSpeculative.map((result) => result.tokenIds)).toEqual(replayed.map((result) => result.tokenIds));
  });

  it('shows an answer about an uploaded image, streamed and coloured by token source', { timeout: 300_000 }, async () => {
    const page = await openPage(browser, '?device=wasm&threads=2');
    expect(await page.evaluate(() => (globalThis as unknown as { crossOriginIsolated: boolean }).crossOriginIsolated)).toBe(true);
    expect(await page.locator('#device').textContent()).toMatch(/^wasm · 2 threads/);
    await page.locator('#image-input').setInputFiles(tinyLlavaExampleImage());
    await page.waitForSelector('#preview:not([hidden])');
    await page.locator('#question').fill('Describe the image in detail.');
    await page.locator('#max-tokens').fill('160');
    await page.locator('#speculative').setChecked(true);
    await page.locator('#ask').click();
    // Streamed: spans arrive while the page is still generating.
    await page.waitForSelector('body[data-state="streaming"] #answer .token', { timeout: 60_000 }).catch(() => undefined);
    await page.waitForSelector('body[data-state="done"], body[data-state="error"]', { timeout: 240_000 });
    expect(await page.locator('body').getAttribute('data-state'), `the page's error box: ${await page.locator('#error').textContent()}`).toBe('done');
    const text = (await page.locator('#answer').textContent()) ?? '';
    const draftSpans = await page.locator('#answer .token.draft').count();
    const targetSpans = await page.locator('#answer .token.target').count();
    const tau = await page
      .locator('#stats > div')
      .filter({ has: page.locator('dt', { hasText: /^tau$/ }) })
      .locator('dd')
      .textContent();
    expect(draftSpans).toBeGreaterThan(0);
    expect(targetSpans).toBeGreaterThan(0);
    expect(tau).toMatch(/^\d+\.\d\d$/);
    expect(Number(tau)).toBeGreaterThan(1);
    expect(await page.locator('#stats').textContent()).toContain('tokens/s');
    // The page decodes greedily: the same answer as Node's pipeline.
    const expected = await node.generate({ prompt: 'Describe the image in detail.', images: [tinyLlavaExampleImage()], maxNewTokens: 160 });
    expect(text).toBe(expected.text);

    const directory = join(process.env.MSD_ARTIFACTS_DIR ?? tmpdir(), 'msd-browser');
    await mkdir(directory, { recursive: true });
    const screenshot = join(directory, 'page.png');
    await page.screenshot({ path: screenshot, fullPage: true });
    console.log(`browser example screenshot: ${screenshot} (${draftSpans} draft spans, ${targetSpans} target spans, tau ${tau})`);

    // The example image button, speculation off, and Stop.
    await page.locator('#use-example').click();
    await page.waitForSelector('#preview:not([hidden])');
    await page.locator('#speculative').setChecked(false);
    await page.locator('#max-tokens').fill('512');
    // The click runs the submit handler, which empties the answer and sets data-state="streaming" before it returns.
    await page.locator('#ask').click();
    await page.waitForSelector('body[data-state="streaming"] #answer .token', { timeout: 60_000 });
    // Autoregressive decoding of this answer (about 80 tokens) takes seconds here: Stop comes first.
    await page.locator('#stop').click({ timeout: 5_000 });
    await page.waitForSelector('body[data-state="done"], body[data-state="error"]', { timeout: 60_000 });
    expect(await page.locator('body').getAttribute('data-state'), `the page's error box: ${await page.locator('#error').textContent()}`).toBe('done');
    expect(await page.locator('#stats').textContent()).toContain('stopped');
    expect(await page.locator('#answer .token.draft').count()).toBe(0);
    expect(((await page.locator('#answer').textContent()) ?? '').length).toBeLessThan(text.length);
    await page.close();
  });
});

describe('the browser example on WebGPU (SwiftShader)', () => {
  it('decodes two short answers token for token as the Node pipeline', { timeout: 600_000 }, async () => {
    const gpuBrowser = await launchChromium({ webgpu: true });
    try {
      const page = await openPage(gpuBrowser, '?device=webgpu&software=1&warmup=0');
      expect(await page.locator('#device').textContent()).toMatch(/^webgpu/);
      const prompts = [pick('multimodal', 1)[0]!, pick('text-only', 1)[0]!];
      for (const prompt of prompts) {
        const options = { prompt: prompt.question, maxNewTokens: 8, speculative: true };
        const expected = await node.generate({ ...options, images: prompt.images });
        const result = await run(page, { ...options, images: prompt.images.map(imageUrl) });
        expect(result.tokenIds, `WebGPU, ${prompt.set}: ${prompt.question}`).toEqual(expected.tokenIds);
      }
      console.log(`browser WebGPU (SwiftShader) greedy MSD = Node: ${prompts.length}/${prompts.length} identical`);
    } finally {
      await gpuBrowser.close();
    }
  });
});
