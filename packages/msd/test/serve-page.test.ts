import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tinyLlavaExampleImage } from '@msd/tiny-llava';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../bench/headless-chromium';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MsdServer, startServer } from '../src/serve/server';

// The page `msd serve` serves at `/`, in headless Chromium against the real server and the bundled model:
// the page sends what the API expects and shows the streamed answer, coloured by where its tokens came from.
// Chromium is the Debian package (scripts/install-system-deps.sh); playwright-core downloads no browser.

const ANSWER_TIMEOUT_MS = 120_000;

let server: MsdServer | undefined;
let browser: Browser | undefined;
let page: Page;
const consoleErrors: string[] = [];
const failedRequests: string[] = [];
const chatRequests: Record<string, unknown>[] = [];

beforeAll(async () => {
  [server, browser] = await Promise.all([startServer({ host: '127.0.0.1', port: 0, threads: 2 }), launchChromium()]);
  await server.ready;
  page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(message.text());
  });
  page.on('pageerror', (error) => consoleErrors.push(`uncaught: ${error.message}`));
  page.on('requestfailed', (request) => failedRequests.push(`${request.method()} ${request.url()}: ${request.failure()?.errorText}`));
  page.on('response', (response) => {
    if (response.status() >= 400) failedRequests.push(`${response.request().method()} ${response.url()}: ${response.status()}`);
  });
  page.on('request', (request) => {
    if (request.url().endsWith('/v1/chat/completions')) chatRequests.push(request.postDataJSON() as Record<string, unknown>);
  });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

interface Answer {
  text: string;
  draftSpans: number;
  targetSpans: number;
  tau: number;
}

/** Asks the question on the page as it stands and waits for the whole answer. */
async function ask(speculative: boolean): Promise<Answer> {
  await page.locator('#speculative').setChecked(speculative);
  // The click runs the page's submit handler, which sets data-state="streaming" before it returns.
  await page.locator('#ask').click();
  await page.waitForSelector('body[data-state="done"], body[data-state="error"]', { timeout: ANSWER_TIMEOUT_MS });
  const state = await page.locator('body').getAttribute('data-state');
  expect(state, `the page's error box: ${await page.locator('#error').textContent()}`).toBe('done');
  const tau = await page
    .locator('#stats > div')
    .filter({ has: page.locator('dt', { hasText: /^tau$/ }) })
    .locator('dd')
    .textContent();
  expect(tau, `#stats: ${await page.locator('#stats').textContent()}`).toMatch(/^\d+\.\d\d$/);
  return {
    text: (await page.locator('#answer').textContent()) ?? '',
    // Only the answer's spans: the legend has one of each too.
    draftSpans: await page.locator('#answer .token.draft').count(),
    targetSpans: await page.locator('#answer .token.target').count(),
    tau: Number(tau),
  };
}

describe('the msd serve page in Chromium', () => {
  it('streams an answer about an uploaded image, coloured by token source, and the same answer without speculation', { timeout: 300_000 }, async () => {
    await page.goto(`${server!.url}/`);
    await page.waitForSelector('body[data-state="idle"]');
    await page.locator('#image-input').setInputFiles(tinyLlavaExampleImage());
    await page.waitForSelector('#preview:not([hidden])');
    expect(await page.locator('#question').inputValue()).toBe('Describe the image in detail.');
    expect(await page.locator('#max-tokens').inputValue()).toBe('160');
    expect(await page.locator('#speculative').isChecked()).toBe(true);

    const speculative = await ask(true);
    expect(speculative.text.trim().split(/\s+/).length, speculative.text).toBeGreaterThanOrEqual(4);
    expect(speculative.draftSpans).toBeGreaterThan(0);
    expect(speculative.targetSpans).toBeGreaterThan(0);
    expect(speculative.tau).toBeGreaterThan(1);

    const directory = join(process.env.MSD_ARTIFACTS_DIR ?? tmpdir(), 'msd-serve');
    await mkdir(directory, { recursive: true });
    const screenshot = join(directory, 'page.png');
    await page.screenshot({ path: screenshot, fullPage: true });
    console.log(`msd serve page screenshot: ${screenshot}`);

    const plain = await ask(false);
    // Greedy speculative decoding is lossless: the target alone writes the same answer.
    expect(plain.text).toBe(speculative.text);
    expect(plain.draftSpans).toBe(0);
    expect(plain.targetSpans).toBeGreaterThan(0);
    expect(plain.tau).toBe(1);

    expect(chatRequests).toHaveLength(2);
    for (const [index, body] of chatRequests.entries()) {
      expect(body).toMatchObject({
        model: 'tiny-llava',
        stream: true,
        stream_options: { include_usage: true },
        max_tokens: 160,
        temperature: 0,
        speculative: index === 0,
      });
      expect(body.messages).toEqual([
        {
          role: 'user',
          content: [
            { type: 'image_url', image_url: { url: expect.stringMatching(/^data:image\/png;base64,[A-Za-z0-9+/]+=*$/) } },
            { type: 'text', text: 'Describe the image in detail.' },
          ],
        },
      ]);
    }
    expect(consoleErrors).toEqual([]);
    expect(failedRequests).toEqual([]);
  });
});
