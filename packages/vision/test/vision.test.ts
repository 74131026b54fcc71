import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { ConfigError, InvalidArgumentError, MsdError } from '@msd/core';
import {
  DEFAULT_IMAGE_LIMITS,
  ImageDecodeError,
  ImagePreprocessor,
  ImageSourceError,
  ImageTooLargeError,
  UnsupportedImageFormatError,
  chooseResampler,
  decodeImage,
  loadPreprocessorConfig,
  padBackground,
  padToSquare,
  parseDataUrl,
  parsePreprocessorConfig,
  pilResize,
  preprocessImage,
  preprocessImages,
  resizeTarget,
} from '@msd/vision';
import { clipGrey16 } from '../src/decode-image';
import { cmykToRgb } from '../src/cmyk-to-rgb';
import { mapWithConcurrency } from '../src/map-with-concurrency';
import { ensureFixture, fixtureDir, llavaConfigPath, packageDir, repoRoot } from './fixture';

ensureFixture();
const img = (file: string) => join(fixtureDir, 'images', file);
const tmp = mkdtempSync(join(tmpdir(), 'msd-vision-'));

async function rawPng(width: number, height: number, channels: 3 | 4, fill: (x: number, y: number) => number[]): Promise<Buffer> {
  const data = Buffer.alloc(width * height * channels);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data.set(fill(x, y), (y * width + x) * channels);
  return sharp(data, { raw: { width, height, channels } }).png().toBuffer();
}

async function expectError<T>(promise: Promise<unknown>, check: (error: unknown) => error is T): Promise<T> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, 'expected a rejection').toBeDefined();
  expect(check(error), String(error)).toBe(true);
  expect(MsdError.isInstance(error)).toBe(true);
  return error as T;
}

describe('input forms', () => {
  it('path, Buffer, Uint8Array, base64 and percent-encoded data: URLs give the same tensor', async () => {
    const path = img('rgb-640x480.jpg');
    const bytes = readFileSync(path);
    const preprocessor = await ImagePreprocessor.load(llavaConfigPath);
    const fromPath = await preprocessor.preprocess(path);
    expect(fromPath.dims).toEqual([1, 3, 336, 336]);
    expect(fromPath.data).toBeInstanceOf(Float32Array);
    const forms = [
      bytes,
      new Uint8Array(bytes),
      `data:image/jpeg;base64,${bytes.toString('base64')}`,
      `data:image/jpeg,${Array.from(bytes, (b) => `%${b.toString(16).padStart(2, '0')}`).join('')}`,
    ];
    for (const form of forms) expect((await preprocessor.preprocess(form)).data).toEqual(fromPath.data);
  });

  it('parseDataUrl rejects malformed URLs', () => {
    expect(() => parseDataUrl('data:image/png;base64')).toThrow(ImageSourceError);
    expect(() => parseDataUrl('data:image/png;base64,@@@')).toThrow(ImageSourceError);
    expect(() => parseDataUrl('data:image/png,%zz')).toThrow(ImageSourceError);
  });
});

describe('colour cases', () => {
  it('drops alpha without premultiplying (colour under transparent pixels survives)', async () => {
    const png = await rawPng(4, 2, 4, (x) => [200, 100, 50, x * 60]);
    const { data, width, height } = await decodeImage(png);
    expect([width, height]).toEqual([4, 2]);
    expect(Array.from(data.subarray(0, 12))).toEqual([200, 100, 50, 200, 100, 50, 200, 100, 50, 200, 100, 50]);
  });

  it('applies EXIF orientation', async () => {
    for (const [file, w, h] of [
      ['exif-orient6-600x400.jpg', 400, 600],
      ['exif-orient8-600x400.jpg', 400, 600],
      ['exif-orient3-600x400.jpg', 600, 400],
    ] as const) {
      const { width, height } = await decodeImage(img(file));
      expect([width, height]).toEqual([w, h]);
    }
    const base = await rawPng(3, 2, 3, (x, y) => [x * 100, y * 100, 0]);
    const rotated = await sharp(base).jpeg({ quality: 100 }).withMetadata({ orientation: 6 }).toBuffer();
    const decoded = await decodeImage(rotated);
    expect([decoded.width, decoded.height]).toEqual([2, 3]);
  });

  it('replicates greyscale and grey+alpha into RGB', async () => {
    for (const file of ['grey-l-500x375.jpg', 'grey-la-360x240.png', 'grey16-256x320.png']) {
      const { data } = await decodeImage(img(file));
      for (let i = 0; i < data.length; i += 3 * 97) {
        expect(data[i + 1]).toBe(data[i]);
        expect(data[i + 2]).toBe(data[i]);
      }
    }
  });

  it('scales 16-bit colour to 8-bit by the high byte, and clips 16-bit greyscale as PIL does', async () => {
    for (const file of ['rgb16-320x240.png', 'grey16-256x320.png']) {
      const ours = await decodeImage(img(file));
      const wide = await sharp(img(file))
        .toColourspace(file.startsWith('grey') ? 'grey16' : 'rgb16')
        .raw({ depth: 'ushort' })
        .toBuffer();
      const words = new Uint16Array(wide.buffer, wide.byteOffset, wide.byteLength / 2);
      const channels = words.length / (ours.width * ours.height);
      for (let p = 0; p < ours.width * ours.height; p += 101) {
        const word = words[p * channels]!;
        expect(ours.data[p * 3]).toBe(file.startsWith('grey') ? Math.min(word, 255) : word >> 8);
      }
    }
    expect(Array.from(clipGrey16(new Uint16Array([0, 200, 256, 30000])))).toEqual([0, 0, 0, 200, 200, 200, 255, 255, 255, 255, 255, 255]);
  });

  it("converts CMYK with PIL's naive formula", async () => {
    expect(Array.from(cmykToRgb(new Uint8Array([0, 255, 255, 0, 0, 0, 0, 255, 0, 0, 0, 0, 128, 64, 0, 32])))).toEqual([
      255, 0, 0, 0, 0, 0, 255, 255, 255, 111, 167, 223,
    ]);
    const { data, width } = await decodeImage(img('cmyk-480x360.jpg'));
    expect(width).toBe(480);
    expect(data.length).toBe(480 * 360 * 3);
  });

  it('uses palette colours regardless of tRNS transparency', async () => {
    const { data, width, height } = await decodeImage(img('palette-trns-300x450.png'));
    expect([width, height]).toEqual([300, 450]);
    const reference = await sharp(img('palette-trns-300x450.png')).removeAlpha().raw().toBuffer();
    expect(Buffer.from(data).equals(reference)).toBe(true);
  });

  it('ignores embedded ICC profiles (as PIL does)', async () => {
    const ours = await decodeImage(img('icc-gamma1-512x512.jpg'));
    const ignored = await sharp(img('icc-gamma1-512x512.jpg'), { ignoreIcc: true }).removeAlpha().raw().toBuffer();
    const applied = await sharp(img('icc-gamma1-512x512.jpg')).removeAlpha().raw().toBuffer();
    expect(Buffer.from(ours.data).equals(ignored)).toBe(true);
    expect(Buffer.from(ours.data).equals(applied)).toBe(false);
  });

  it('takes the first frame of animated GIF and WebP', async () => {
    for (const [file, w, h] of [
      ['animated-320x200.gif', 320, 200],
      ['animated-240x320.webp', 240, 320],
    ] as const) {
      const { width, height } = await decodeImage(img(file));
      expect([width, height]).toEqual([w, h]);
    }
  });
});

describe('limits and typed errors', () => {
  it('rejects images over the pixel limit before decoding', async () => {
    const error = await expectError(decodeImage(img('rgb-640x480.jpg'), { limits: { maxPixels: 640 * 480 - 1 } }), ImageTooLargeError.isInstance);
    expect(error.limit).toBe('pixels');
    expect(error.code).toBe('image_too_large');
    expect(error.message).toMatch(/maxPixels/);
    await expect(decodeImage(img('rgb-640x480.jpg'), { limits: { maxPixels: 640 * 480 } })).resolves.toBeDefined();
  });

  it('rejects inputs over the byte limit for every input form', async () => {
    const path = img('rgb-640x480.jpg');
    const bytes = readFileSync(path);
    const limits = { maxBytes: 1000 };
    for (const input of [path, bytes, `data:image/jpeg;base64,${bytes.toString('base64')}`]) {
      const error = await expectError(decodeImage(input, { limits }), ImageTooLargeError.isInstance);
      expect(error.limit).toBe('bytes');
    }
    expect(DEFAULT_IMAGE_LIMITS.maxBytes).toBeGreaterThan(bytes.length);
  });

  it('reports corrupt, truncated and non-image inputs with typed errors', async () => {
    const jpeg = readFileSync(img('rgb-640x480.jpg'));
    const truncated = await expectError(decodeImage(jpeg.subarray(0, jpeg.length >> 1)), ImageDecodeError.isInstance);
    expect(truncated.code).toBe('image_decode_failed');
    const png = readFileSync(img('rgb-32x32.png'));
    const corrupt = Buffer.from(png);
    corrupt.fill(0x41, 60);
    await expectError(decodeImage(corrupt), ImageDecodeError.isInstance);
    const textFile = join(tmp, 'notes.txt');
    writeFileSync(textFile, 'this is not an image\n'.repeat(20));
    const text = await expectError(decodeImage(textFile), UnsupportedImageFormatError.isInstance);
    expect(text.code).toBe('unsupported_image_format');
    expect(text.message).toMatch(/jpeg, png, webp, gif, tiff/);
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>');
    const svgError = await expectError(decodeImage(svg), UnsupportedImageFormatError.isInstance);
    expect(svgError.format).toBe('svg');
  });

  it('reports unreadable sources with ImageSourceError', async () => {
    await expectError(decodeImage(join(tmp, 'missing.png')), ImageSourceError.isInstance);
    await expectError(decodeImage(tmp), ImageSourceError.isInstance);
    await expectError(decodeImage(new Uint8Array(0)), ImageSourceError.isInstance);
    await expectError(decodeImage('data:nonsense'), ImageSourceError.isInstance);
    await expectError(decodeImage(42 as unknown as string), ImageSourceError.isInstance);
  });
});

describe('config', () => {
  it('loads from a directory, a file and an object', async () => {
    const dir = mkdtempSync(join(tmp, 'model-'));
    writeFileSync(join(dir, 'preprocessor_config.json'), readFileSync(llavaConfigPath));
    const fromDir = await loadPreprocessorConfig(dir);
    const fromFile = await loadPreprocessorConfig(llavaConfigPath);
    const fromObject = await loadPreprocessorConfig(JSON.parse(readFileSync(llavaConfigPath, 'utf8')));
    expect(fromDir).toEqual(fromFile);
    expect(fromObject).toEqual(fromFile);
    expect(fromFile).toMatchObject({ size: { shortestEdge: 336 }, cropSize: { height: 336, width: 336 }, resample: 'bicubic', doPad: true });
  });

  it('understands size forms, image_aspect_ratio and resample codes', () => {
    expect(parsePreprocessorConfig({ size: { height: 384, width: 384 }, resample: 2 }).size).toEqual({ height: 384, width: 384 });
    expect(parsePreprocessorConfig({ size: 224, crop_size: 224 }).cropSize).toEqual({ height: 224, width: 224 });
    expect(parsePreprocessorConfig({ image_aspect_ratio: 'pad' }).doPad).toBe(true);
    expect(parsePreprocessorConfig({}).doPad).toBe(false);
    expect(parsePreprocessorConfig({ resample: 0 }).resample).toBe('nearest');
  });

  it('throws ConfigError on bad fields, missing files and invalid JSON', async () => {
    const bad = [
      { image_mean: [0.5, 0.5] },
      { image_std: [0.5, 0, 0.5] },
      { size: { shortest_edge: -1 } },
      { crop_size: { height: 'x', width: 3 } },
      { resample: 9 },
      { do_pad: 'yes' },
      { rescale_factor: 0 },
      [],
    ];
    for (const raw of bad) expect(() => parsePreprocessorConfig(raw, 'cfg.json'), JSON.stringify(raw)).toThrow(ConfigError);
    const missing = await loadPreprocessorConfig(join(tmp, 'nope')).catch((e: unknown) => e);
    expect(ConfigError.isInstance(missing) && missing.code).toBe('config_not_found');
    const broken = join(tmp, 'broken.json');
    writeFileSync(broken, '{ not json');
    await expect(loadPreprocessorConfig(broken)).rejects.toSatisfy(ConfigError.isInstance);
  });
});

describe('pipeline pieces', () => {
  it('pads to a centred square with the truncated mean colour', () => {
    expect(padBackground([0.48145466, 0.4578275, 0.40821073])).toEqual([122, 116, 104]);
    const image = { data: new Uint8Array([1, 2, 3, 4, 5, 6]), width: 2, height: 1 };
    expect(Array.from(padToSquare(image, [9, 9, 9]).data)).toEqual([1, 2, 3, 4, 5, 6, 9, 9, 9, 9, 9, 9]);
    const tall = { data: new Uint8Array(9).fill(7), width: 1, height: 3 };
    expect(Array.from(padToSquare(tall, [0, 0, 0]).data.subarray(0, 9))).toEqual([0, 0, 0, 7, 7, 7, 0, 0, 0]);
  });

  it('computes resize targets like Hugging Face', () => {
    expect(resizeTarget(640, 480, { shortestEdge: 336 })).toEqual({ width: 448, height: 336 });
    expect(resizeTarget(90, 1200, { shortestEdge: 224 })).toEqual({ width: 224, height: 2986 });
    expect(resizeTarget(5, 7, { height: 3, width: 4 })).toEqual({ width: 4, height: 3 });
    expect(chooseResampler(32, 32, 336, 336, 'bicubic')).toBe('pil');
    expect(chooseResampler(640, 640, 336, 336, 'bicubic')).toBe('sharp');
    expect(chooseResampler(640, 640, 336, 336, 'box', 'sharp')).toBe('pil');
  });

  it('pilResize keeps a constant image constant', () => {
    const image = { data: new Uint8Array(10 * 7 * 3).fill(77), width: 10, height: 7 };
    for (const filter of ['nearest', 'bilinear', 'bicubic', 'lanczos', 'box', 'hamming'] as const) {
      expect(new Set(pilResize(image, 23, 4, filter).data)).toEqual(new Set([77]));
    }
  });

  it('mapWithConcurrency bounds in-flight tasks and keeps order', async () => {
    let inFlight = 0;
    let peak = 0;
    const out = await mapWithConcurrency([5, 1, 4, 2, 3], 2, async (n) => {
      peak = Math.max(peak, ++inFlight);
      await new Promise((r) => setTimeout(r, n));
      inFlight--;
      return n * 10;
    });
    expect(out).toEqual([50, 10, 40, 20, 30]);
    expect(peak).toBe(2);
  });
});

describe('batch', () => {
  const files = ['rgb-640x480.jpg', 'rgba-400x300.png', 'animated-320x200.gif', 'tall-90x1200.jpg'].map(img);

  it('stacks images into [n, 3, H, W] identical to one-by-one results', async () => {
    const preprocessor = await ImagePreprocessor.load(llavaConfigPath, { concurrency: 2 });
    const batch = await preprocessor.preprocessBatch(files);
    expect(batch.dims).toEqual([4, 3, 336, 336]);
    const plane = 3 * 336 * 336;
    for (const [index, file] of files.entries()) {
      const single = await preprocessor.preprocess(file);
      expect(batch.data.subarray(index * plane, (index + 1) * plane)).toEqual(single.data);
    }
    const viaHelper = await preprocessImages(files, llavaConfigPath, { concurrency: 1 });
    expect(viaHelper.data).toEqual(batch.data);
  });

  it("resizes with the exact Pillow port by default: equal to resampler 'pil', not to libvips", async () => {
    const photo = img('rgb-640x480.jpg'); // downscaled to 336: 'auto' would pick libvips here
    const byDefault = await (await ImagePreprocessor.load(llavaConfigPath)).preprocess(photo);
    const exact = await (await ImagePreprocessor.load(llavaConfigPath, { resampler: 'pil' })).preprocess(photo);
    const fast = await (await ImagePreprocessor.load(llavaConfigPath, { resampler: 'sharp' })).preprocess(photo);
    expect(byDefault.data).toEqual(exact.data);
    expect(fast.data).not.toEqual(exact.data);
  });

  it('rejects bad batches and options', async () => {
    const noCrop = new ImagePreprocessor(parsePreprocessorConfig({ do_center_crop: false, size: { shortest_edge: 64 } }));
    await expect(noCrop.preprocessBatch(files)).rejects.toSatisfy(InvalidArgumentError.isInstance);
    await expect(noCrop.preprocessBatch([])).rejects.toSatisfy(InvalidArgumentError.isInstance);
    expect(() => new ImagePreprocessor(noCrop.config, { concurrency: 0 })).toThrow(InvalidArgumentError);
    const single = await preprocessImage(files[0]!, noCrop.config);
    expect(single.dims).toEqual([1, 3, 64, 85]);
  });

  it('propagates the typed error of a failing image', async () => {
    await expect(preprocessImages([files[0]!, join(tmp, 'missing.png')], llavaConfigPath)).rejects.toSatisfy(ImageSourceError.isInstance);
  });
});

describe('module loading', () => {
  it('importing @msd/vision does not load sharp', () => {
    const script =
      "import { createRequire } from 'node:module'; import { readFileSync } from 'node:fs'; await import('@msd/vision'); const r = createRequire(import.meta.url); const maps = process.platform === 'linux' ? readFileSync('/proc/self/maps', 'utf8') : ''; console.log(Object.keys(r.cache).some((k) => k.includes('/sharp/')) || /sharp/.test(maps));";
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--conditions=@msd/source', '--input-type=module', '-e', script], {
      cwd: packageDir,
      encoding: 'utf8',
    });
    expect(out.trim()).toBe('false');
    expect(repoRoot).toBeTruthy();
  });
});
