import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { type Browser, chromium, type Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeImage, ImagePreprocessor } from '@msd/vision';
import type { Harness, PageError, PageInput } from './browser/harness';
import { ensureFixture, imagePath } from './fixture';

// The browser build of @msd/vision in real Chromium, against the Node build on the same files: decoding with
// createImageBitmap must give sharp's bytes, and the shared pad / PIL resize / normalise code the same tensor.
// Chromium is the Debian package (scripts/install-system-deps.sh); playwright-core downloads no browser.

const CHROMIUM = '/usr/bin/chromium';
const packageDir = fileURLToPath(new URL('..', import.meta.url));
const tinyLlava = join(packageDir, '..', 'tiny-llava');
const configPath = join(tinyLlava, 'model', 'preprocessor_config.json');
const config = JSON.parse(readFileSync(configPath, 'utf8')) as Record<string, unknown>;

/** Every image both builds must agree on exactly, by name. */
const images = new Map<string, Buffer>();
/** Served by the test server at /images/<name>, for the URL input form. */
let server: Server;
let origin: string;
let browser: Browser;
let page: Page;
let webgl2 = false;

/** Random RGBA pixels, with fully transparent and half transparent ones whose colour must survive. */
async function translucentPng(): Promise<Buffer> {
  const width = 61;
  const height = 47;
  const data = Buffer.alloc(width * height * 4);
  let state = 12345;
  for (let index = 0; index < data.length; index++) {
    state = (state * 1103515245 + 12345) >>> 0;
    data[index] = state >>> 24;
  }
  for (let pixel = 0; pixel < width * height; pixel++) if (pixel % 5 === 0) data[pixel * 4 + 3] = 0;
  return sharp(data, { raw: { width, height, channels: 4 } })
    .png()
    .toBuffer();
}

beforeAll(async () => {
  const file = (path: string) => readFileSync(join(tinyLlava, path));
  for (const name of ['example.png', 'scene.png']) images.set(name, file(`examples/${name}`));
  for (const name of ['scene-000.png', 'scene-001.png', 'scene-002.png', 'scene-003.png']) images.set(name, file(`heldout/images/${name}`));
  const example = images.get('example.png')!;
  const scene = images.get('scene.png')!;
  images.set('example.jpg', await sharp(example).jpeg().toBuffer());
  images.set('scene-progressive.jpg', await sharp(scene).jpeg({ quality: 70, progressive: true }).toBuffer());
  // 640x480 stored sideways: EXIF orientation 6 turns it upright, 480x640, in both builds.
  images.set('rotated.jpg', await sharp(example).jpeg().withMetadata({ orientation: 6 }).toBuffer());
  images.set('tall.png', await sharp(example).extract({ left: 200, top: 0, width: 90, height: 480 }).png().toBuffer());
  images.set('scene-lossless.webp', await sharp(scene).webp({ lossless: true }).toBuffer());
  images.set('scene-lossy.webp', await sharp(scene).webp({ quality: 60 }).toBuffer());
  images.set('scene.gif', await sharp(scene).gif().toBuffer());
  images.set('grey.png', await sharp(scene).greyscale().png().toBuffer());
  images.set('palette.png', await sharp(scene).png({ palette: true, colours: 16 }).toBuffer());

  const bundle = await build({
    entryPoints: [join(packageDir, 'test', 'browser', 'harness.ts')],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    conditions: ['@msd/source', 'browser'],
    write: false,
    logLevel: 'silent',
  });
  const script = bundle.outputFiles[0]!.text;
  server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    const image = path.startsWith('/images/') ? images.get(path.slice('/images/'.length)) : undefined;
    if (path === '/') response.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><script type="module" src="/harness.js"></script>');
    else if (path === '/harness.js') response.writeHead(200, { 'content-type': 'text/javascript' }).end(script);
    else if (path === '/model/preprocessor_config.json') response.writeHead(200, { 'content-type': 'application/json' }).end(readFileSync(configPath));
    else if (image) response.writeHead(200, { 'content-type': 'application/octet-stream' }).end(image);
    else response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  page = await browser.newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  await page.goto(`${origin}/`);
  await page
    .waitForFunction(() => 'msdVisionHarness' in globalThis, undefined, { timeout: 30_000 })
    .catch(() => {
      throw new Error(`the harness did not load: ${pageErrors.join('; ')}`);
    });
  webgl2 = (await call('capabilities')).webgl2;
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => server?.close(resolve));
});

/** Runs one of the harness's functions in the page. */
function call<K extends keyof Harness>(name: K, ...args: Parameters<Harness[K]>): Promise<Awaited<ReturnType<Harness[K]>>> {
  return page.evaluate(
    ([fn, fnArgs]) => {
      const harness = (globalThis as unknown as { msdVisionHarness: Record<string, (...a: unknown[]) => unknown> }).msdVisionHarness;
      return harness[fn as string]!(...(fnArgs as unknown[]));
    },
    [name, args] as const,
  ) as Promise<Awaited<ReturnType<Harness[K]>>>;
}

const bytesInput = (name: string): PageInput => ({ kind: 'bytes', base64: images.get(name)!.toString('base64') });

function floats(base64: string): Float32Array {
  const bytes = Buffer.from(base64, 'base64');
  return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
}

function maxAbsDiff(actual: Float32Array, expected: Float32Array): number {
  expect(actual.length).toBe(expected.length);
  let max = 0;
  for (let index = 0; index < expected.length; index++) max = Math.max(max, Math.abs(actual[index]! - expected[index]!));
  return max;
}

/** How many bytes differ, and by how much at most. */
function byteDiff(actual: Uint8Array, expected: Uint8Array): { count: number; max: number } {
  expect(actual.length).toBe(expected.length);
  let count = 0;
  let max = 0;
  for (let index = 0; index < expected.length; index++) {
    const difference = Math.abs(actual[index]! - expected[index]!);
    if (difference) count++;
    max = Math.max(max, difference);
  }
  return { count, max };
}

describe('@msd/vision in Chromium (browser build) against Node (sharp)', () => {
  const opaque = () => [...images.keys()];

  it('decodes PNG, JPEG (baseline, progressive, EXIF-rotated), WebP, GIF, greyscale and palette images to the same RGB bytes', async () => {
    for (const name of opaque()) {
      const node = await decodeImage(images.get(name)!);
      const inPage = await call('decode', bytesInput(name));
      expect([inPage.width, inPage.height], name).toEqual([node.width, node.height]);
      if (name === 'rotated.jpg') expect([node.width, node.height]).toEqual([480, 640]);
      expect(byteDiff(Buffer.from(inPage.rgb, 'base64'), node.data), name).toEqual({ count: 0, max: 0 });
    }
  });

  it('preprocesses to the same float32 tensor as the Node build (resampler pil), one by one and as a batch', async () => {
    const node = await ImagePreprocessor.load(configPath);
    const names = opaque();
    const batch = await call('preprocessBatch', config, names.map(bytesInput));
    const expected = await node.preprocessBatch(names.map((name) => images.get(name)!));
    expect(batch.dims).toEqual(expected.dims);
    expect(batch.dims).toEqual([names.length, 3, 96, 96]);
    expect(maxAbsDiff(floats(batch.data), expected.data)).toBe(0);

    for (const name of ['scene.png', 'example.jpg', 'rotated.jpg', 'tall.png']) {
      const single = await call('single', config, bytesInput(name));
      const reference = await node.preprocess(images.get(name)!);
      expect(single.dims, name).toEqual(reference.dims);
      expect(maxAbsDiff(floats(single.data), reference.data), name).toBe(0);
      expect(single.config).toEqual(node.config);
      expect(single.outputSize).toEqual(node.outputSize(640, 480));
      const prepared = await node.prepareRgb(images.get(name)!);
      expect(single.prepared).toEqual({ width: prepared.width, height: prepared.height });
    }
  });

  it('takes a Blob, a data: URL and http(s) URLs (absolute and relative), and loads the config from a URL', async () => {
    const node = await ImagePreprocessor.load(configPath);
    const names = ['scene.png', 'example.jpg', 'scene-001.png', 'tall.png'];
    const inputs: PageInput[] = [
      { kind: 'blob', base64: images.get(names[0]!)!.toString('base64') },
      { kind: 'data-url', base64: images.get(names[1]!)!.toString('base64') },
      { kind: 'url', url: `${origin}/images/${names[2]}` },
      { kind: 'url', url: `images/${names[3]}` },
    ];
    const expected = await node.preprocessBatch(names.map((name) => images.get(name)!));
    for (const source of ['/model/', `${origin}/model/preprocessor_config.json`]) {
      const batch = await call('preprocessBatch', source, inputs);
      expect(batch.dims, source).toEqual(expected.dims);
      expect(maxAbsDiff(floats(batch.data), expected.data), source).toBe(0);
    }
  });

  it('decodes the fidelity fixture (CMYK, ICC, EXIF, alpha, 16-bit, animated) as sharp does, but for 16-bit greyscale', async () => {
    // 16-bit greyscale: PIL (and so Node) clips to 255, browsers scale to 8 bits (documented in the README).
    const differs = new Set(['grey16-256x320.png']);
    for (const image of ensureFixture().images.filter((entry) => !entry.name.startsWith('large'))) {
      const bytes = readFileSync(imagePath(image));
      const node = await decodeImage(bytes);
      const inPage = await call('decode', { kind: 'bytes', base64: bytes.toString('base64') });
      expect([inPage.width, inPage.height], image.file).toEqual([node.width, node.height]);
      const diff = byteDiff(Buffer.from(inPage.rgb, 'base64'), node.data);
      const translucent = image.case.includes('alpha') || image.case.includes('transparen') || image.case.includes('tRNS');
      if (differs.has(image.file)) expect(diff.count, image.file).toBeGreaterThan(0);
      else if (webgl2 || !translucent) expect(diff, `${image.file} (${image.case})`).toEqual({ count: 0, max: 0 });
    }
  });

  it('keeps the colour under transparent pixels, as sharp and PIL do, where WebGL2 is available', async () => {
    const png = await translucentPng();
    images.set('translucent.png', png);
    const node = await decodeImage(png);
    const inPage = await call('decode', bytesInput('translucent.png'));
    const diff = byteDiff(Buffer.from(inPage.rgb, 'base64'), node.data);
    console.log(`[browser-preprocess] translucent PNG: WebGL2 ${webgl2 ? 'available' : 'missing'}, ${diff.count} bytes differ (max ${diff.max})`);
    // Without WebGL2 the canvas's premultiplied storage loses them (documented in the README).
    if (webgl2) expect(diff).toEqual({ count: 0, max: 0 });
    images.delete('translucent.png');
  });

  it('throws the typed errors the Node build throws: corrupt, truncated, unsupported, too large, unreadable', async () => {
    const png = images.get('scene.png')!;
    const jpeg = images.get('example.jpg')!;
    const corrupt = Buffer.concat([png.subarray(0, 100), Buffer.alloc(200, 7), png.subarray(300)]);
    const cases: Array<[string, PageInput, string, Record<string, unknown>?]> = [
      ['corrupt PNG', { kind: 'bytes', base64: corrupt.toString('base64') }, 'ImageDecodeError'],
      ['truncated JPEG', { kind: 'bytes', base64: jpeg.subarray(0, jpeg.length >> 1).toString('base64') }, 'ImageDecodeError'],
      ['not an image', { kind: 'bytes', base64: Buffer.from('this is not an image\n'.repeat(20)).toString('base64') }, 'UnsupportedImageFormatError'],
      ['TIFF', { kind: 'bytes', base64: (await sharp(png).tiff().toBuffer()).toString('base64') }, 'UnsupportedImageFormatError'],
      ['over maxPixels, from the header', bytesInput('example.png'), 'ImageTooLargeError', { limits: { maxPixels: 640 * 480 - 1 } }],
      ['Blob over maxBytes', { kind: 'blob', base64: png.toString('base64') }, 'ImageTooLargeError', { limits: { maxBytes: 1000 } }],
      ['URL over maxBytes', { kind: 'url', url: `${origin}/images/scene.png` }, 'ImageTooLargeError', { limits: { maxBytes: 1000 } }],
      ['missing URL', { kind: 'url', url: `${origin}/images/missing.png` }, 'ImageSourceError'],
      ['file: URL', { kind: 'url', url: 'file:///etc/passwd' }, 'ImageSourceError'],
    ];
    for (const [label, input, kind, options] of cases) {
      const error = (await call('preprocessError', config, input, options ?? {})) as PageError | null;
      expect(error?.kinds, `${label}: ${JSON.stringify(error)}`).toEqual([kind]);
    }
    // Node agrees on the bytes it can take.
    await expect(decodeImage(corrupt)).rejects.toMatchObject({ name: 'ImageDecodeError' });
    const tooLarge = (await call('preprocessError', config, bytesInput('example.png'), { limits: { maxPixels: 1000 } })) as PageError;
    expect(tooLarge).toMatchObject({ code: 'image_too_large' });
    expect(tooLarge.message).toMatch(/640x480/);
  });

  it("refuses resampler 'sharp' and 'auto' with an InvalidArgumentError, and an aborted signal with an AbortError", async () => {
    for (const resampler of ['sharp', 'auto'] as const) {
      const error = (await call('preprocessError', config, bytesInput('scene.png'), { resampler })) as PageError;
      expect(error).toMatchObject({ name: 'InvalidArgumentError', code: 'invalid_argument' });
      expect(error.message).toContain(resampler);
    }
    expect(await call('abortedError', config, bytesInput('scene.png'))).toMatchObject({ name: 'AbortError' });
  });
});
