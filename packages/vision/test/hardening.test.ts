// Hostile-input hardening (issue 11): every failure is a typed MsdError, nothing hangs, nothing allocates without bound.
import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { ConfigError, InvalidArgumentError, MsdError } from '@msd/core';
import {
  DEFAULT_IMAGE_LIMITS,
  ImagePreprocessor,
  ImageSourceError,
  ImageTooLargeError,
  checkImageInput,
  decodeImage,
  padToSquare,
  parsePreprocessorConfig,
  preprocessImage,
  preprocessImages,
  readImageInput,
  resolveImageLimits,
} from '@msd/vision';
import { llavaConfigPath, packageDir } from './fixture';

const tmp = mkdtempSync(join(tmpdir(), 'msd-vision-hardening-'));
const onLinux = process.platform === 'linux';
const fast = { timeout: 10_000 };

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error,
  );
}

async function expectTyped<T>(promise: Promise<unknown>, check: (error: unknown) => error is T): Promise<T> {
  const error = await rejection(promise);
  expect(check(error), String(error)).toBe(true);
  expect(MsdError.isInstance(error)).toBe(true);
  return error as T;
}

/** A header-only-sized PNG: tiny on disk, `width` x `height` once decoded. */
function blankPng(width: number, height: number): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: { r: 10, g: 20, b: 30 } } })
    .png()
    .toBuffer();
}

/** A 2x2 GIF whose first frame claims a left offset of 40000: sharp decodes it 40002 x 2. */
async function shiftedFrameGif(): Promise<Buffer> {
  const gif = Buffer.from(
    await sharp({ create: { width: 2, height: 2, channels: 3, background: { r: 200, g: 0, b: 0 } } })
      .gif()
      .toBuffer(),
  );
  const descriptor = gif.indexOf(0x2c, 13);
  gif.writeUInt16LE(40_000, descriptor + 1);
  return gif;
}

const validPng = () => blankPng(8, 6);

describe('reading files (issue 11 item 1)', () => {
  it.runIf(onLinux)(
    'stops reading /proc/self/pagemap (stat size 0, endless content) just past maxBytes',
    () => {
      // Run in a child with an RSS watchdog, so a regression cannot eat the test runner's memory.
      const script = [
        "const { decodeImage } = await import('@msd/vision');",
        'const watchdog = () => { if (process.memoryUsage().rss > 1.5e9) { console.log(JSON.stringify({ runaway: true })); process.exit(3); } };',
        'setInterval(watchdog, 10);',
        "const error = await decodeImage('/proc/self/pagemap', { limits: { maxBytes: 1 << 20 } }).then(() => undefined, (e) => e);",
        'console.log(JSON.stringify({ name: error?.name, code: error?.code, limit: error?.limit, actual: error?.actual, max: error?.max }));',
        'process.exit(0);',
      ].join('\n');
      const out = execFileSync(process.execPath, ['--import', 'tsx', '--conditions=@msd/source', '--input-type=module', '-e', script], {
        cwd: packageDir,
        encoding: 'utf8',
        timeout: 8000,
        killSignal: 'SIGKILL',
      });
      const result = JSON.parse(out.trim().split('\n').pop()!) as Record<string, unknown>;
      expect(result).toMatchObject({ name: 'ImageTooLargeError', code: 'image_too_large', limit: 'bytes', max: 1 << 20 });
      expect(result.actual as number).toBeGreaterThan(1 << 20);
      expect(result.actual as number).toBeLessThanOrEqual((1 << 20) + (1 << 20));
    },
    fast,
  );

  it.runIf(onLinux)(
    'reports a small /proc file over the limit as too large, with the bytes read so far',
    async () => {
      const error = await expectTyped(decodeImage('/proc/self/status', { limits: { maxBytes: 64 } }), ImageTooLargeError.isInstance);
      expect(error.limit).toBe('bytes');
      expect(error.message).toMatch(/at least \d+ bytes/);
    },
    fast,
  );

  it.runIf(onLinux)(
    'turns a read error (EIO from /proc/self/mem) into ImageSourceError',
    async () => {
      const error = await expectTyped(decodeImage('/proc/self/mem'), ImageSourceError.isInstance);
      expect(error.code).toBe('image_source_unreadable');
      expect(error.message).toMatch(/Cannot read image file \/proc\/self\/mem: EIO/);
    },
    fast,
  );
});

describe('non-regular files (issue 11 item 2)', () => {
  it.runIf(process.platform !== 'win32')(
    'refuses a FIFO before opening it, without blocking',
    async () => {
      const fifo = join(tmp, 'pipe.png');
      execFileSync('mkfifo', [fifo]);
      let settled = false;
      const pending = decodeImage(fifo).finally(() => {
        settled = true;
      });
      // If open() blocks (the bug), connect a writer after a second so the reader is released and the test ends.
      await Promise.race([pending.catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 1000))]);
      const settledInTime = settled;
      if (!settled) closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
      const error = await expectTyped(pending, ImageSourceError.isInstance);
      expect(settledInTime, 'decodeImage must not block on a FIFO').toBe(true);
      expect(error.message).toMatch(/not a regular file \(a FIFO\)/);
    },
    fast,
  );

  it.runIf(onLinux)(
    'refuses character devices and directories',
    async () => {
      expect((await expectTyped(decodeImage('/dev/zero'), ImageSourceError.isInstance)).message).toMatch(/character device/);
      expect((await expectTyped(decodeImage(tmp), ImageSourceError.isInstance)).message).toMatch(/directory/);
    },
    fast,
  );
});

describe('abort signal (issue 11 item 3)', () => {
  const missing = join(tmp, 'missing.png');

  it(
    'an already-aborted signal throws its reason before any read',
    async () => {
      const reason = new Error('user cancelled');
      const controller = new AbortController();
      controller.abort(reason);
      const { signal } = controller;
      const preprocessor = await ImagePreprocessor.load(llavaConfigPath);
      expect(await rejection(preprocessor.preprocess(missing, { signal }))).toBe(reason);
      expect(await rejection(preprocessor.preprocessBatch([missing, missing], { signal }))).toBe(reason);
      expect(await rejection(preprocessImage(missing, llavaConfigPath, { signal }))).toBe(reason);
      expect(await rejection(preprocessImages([missing], llavaConfigPath, { signal }))).toBe(reason);
      expect(await rejection(decodeImage(missing, { signal }))).toBe(reason);
    },
    fast,
  );

  it(
    'a reason that is not an Error becomes a DOMException named AbortError',
    async () => {
      const preprocessor = await ImagePreprocessor.load(llavaConfigPath);
      const withString = new AbortController();
      withString.abort('stop');
      const error = await rejection(preprocessor.preprocess(missing, { signal: withString.signal }));
      expect(error).toBeInstanceOf(DOMException);
      expect((error as DOMException).name).toBe('AbortError');
      const timeout = new DOMException('took too long', 'TimeoutError'); // what AbortSignal.timeout() aborts with
      expect(await rejection(preprocessor.preprocess(missing, { signal: AbortSignal.abort(timeout) }))).toBe(timeout);
      const plain = new AbortController();
      plain.abort();
      expect(((await rejection(preprocessor.preprocess(missing, { signal: plain.signal }))) as DOMException).name).toBe('AbortError');
    },
    fast,
  );

  it(
    'aborting mid-way stops between stages and between images',
    async () => {
      const preprocessor = await ImagePreprocessor.load(llavaConfigPath, { concurrency: 1 });
      const png = await validPng();
      const reason = new Error('stop now');
      const single = new AbortController();
      const one = preprocessor.preprocess(png, { signal: single.signal });
      single.abort(reason); // the call has started (synchronously) and awaits its first stage
      expect(await rejection(one)).toBe(reason);
      const batch = new AbortController();
      const many = preprocessor.preprocessBatch([png, missing], { signal: batch.signal });
      batch.abort(reason);
      expect(await rejection(many)).toBe(reason);
    },
    fast,
  );

  it(
    'rejects a signal that is not an AbortSignal',
    async () => {
      const preprocessor = await ImagePreprocessor.load(llavaConfigPath);
      const fake = { aborted: 'no' } as unknown as AbortSignal;
      await expectTyped(preprocessor.preprocess(await validPng(), { signal: fake }), InvalidArgumentError.isInstance);
    },
    fast,
  );
});

describe('padded-square and intermediate pixel limits (issue 11 item 4)', () => {
  it(
    'checks max(w, h)^2 of the padded square against maxPixels from the header, before decoding',
    async () => {
      const preprocessor = await ImagePreprocessor.load(llavaConfigPath);
      const started = Date.now();
      const error = await expectTyped(preprocessor.preprocess(await blankPng(30_000, 1)), ImageTooLargeError.isInstance);
      expect(Date.now() - started).toBeLessThan(1000);
      expect(error).toMatchObject({ limit: 'pixels', actual: 30_000 * 30_000, max: DEFAULT_IMAGE_LIMITS.maxPixels });
      expect(error.message).toMatch(/30000x1 padded to 30000x30000/);
      const small = await ImagePreprocessor.load(llavaConfigPath, { limits: { maxPixels: 1_000_000 } });
      await expectTyped(small.preprocess(await blankPng(2000, 1)), ImageTooLargeError.isInstance);
    },
    fast,
  );

  it(
    'gives ImageTooLargeError, not a RangeError, for a 100000x1 image padded to a square',
    async () => {
      const preprocessor = await ImagePreprocessor.load(llavaConfigPath);
      await expectTyped(preprocessor.preprocess(await blankPng(100_000, 1)), ImageTooLargeError.isInstance);
      const wide = { data: new Uint8Array(100_000 * 3), width: 100_000, height: 1 };
      expect(() => padToSquare(wide, [0, 0, 0])).toThrow(ImageTooLargeError);
    },
    fast,
  );

  it(
    'checks a GIF whose frame claims a huge offset the same way, and one whose header claims 65535x65535',
    async () => {
      const gif = await shiftedFrameGif();
      expect((await decodeImage(gif)).width).toBe(40_002); // unpadded it is within the limit
      const preprocessor = await ImagePreprocessor.load(llavaConfigPath);
      const error = await expectTyped(preprocessor.preprocess(gif), ImageTooLargeError.isInstance);
      expect(error.message).toMatch(/padded to 40002x40002/);
      const huge = Buffer.from(gif);
      const descriptor = huge.indexOf(0x2c, 13);
      for (const offset of [6, 8, descriptor + 5, descriptor + 7]) huge.writeUInt16LE(65_535, offset);
      huge.writeUInt16LE(0, descriptor + 1);
      expect((await expectTyped(decodeImage(huge), ImageTooLargeError.isInstance)).actual).toBe(65_535 * 65_535);
    },
    fast,
  );

  it(
    'checks the resize target of an extreme aspect ratio against maxPixels',
    async () => {
      const noPad = new ImagePreprocessor(parsePreprocessorConfig({ size: { shortest_edge: 336 }, crop_size: 336 }));
      const error = await expectTyped(noPad.preprocess(await blankPng(20_000, 1)), ImageTooLargeError.isInstance);
      expect(error.message).toMatch(/resized to 6720000x336/);
    },
    fast,
  );
});

describe('config and limit validation (issue 11 item 5)', () => {
  it('rejects huge, zero, negative, fractional and non-finite sizes at load, naming the field', () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ crop_size: 100_000 }, 'crop_size'],
      [{ crop_size: { height: 336, width: 5000 } }, 'crop_size.width'],
      [{ size: 100_000 }, 'size'],
      [{ size: { shortest_edge: 100_000 } }, 'size.shortest_edge'],
      [{ size: { shortest_edge: 0 } }, 'size.shortest_edge'],
      [{ size: { height: -4, width: 4 } }, 'size.height'],
      [{ size: { shortest_edge: 336.5 } }, 'size.shortest_edge'],
      [{ size: { shortest_edge: Number.NaN } }, 'size.shortest_edge'],
      [{ crop_size: Number.POSITIVE_INFINITY }, 'crop_size'],
      [{ image_mean: [0.5, Number.NaN, 0.5] }, 'image_mean'],
      [{ image_std: [0.5, -1, 0.5] }, 'image_std'],
      [{ image_std: [0.5, 0.5, 0.5, 0.5] }, 'image_std'],
      [{ rescale_factor: Number.POSITIVE_INFINITY }, 'rescale_factor'],
      [{ rescale_factor: Number.NaN }, 'rescale_factor'],
    ];
    for (const [raw, field] of cases) {
      const error = (() => {
        try {
          parsePreprocessorConfig(raw, 'cfg.json');
        } catch (caught) {
          return caught;
        }
        return undefined;
      })();
      expect(ConfigError.isInstance(error), `${field}: ${String(error)}`).toBe(true);
      expect((error as Error).message).toContain(`${field} `);
    }
    expect(parsePreprocessorConfig({ size: 4096, crop_size: 4096 }).cropSize).toEqual({ height: 4096, width: 4096 });
  });

  it(
    'rejects limits that are not positive integers with InvalidArgumentError',
    async () => {
      for (const limits of [{ maxPixels: 0 }, { maxPixels: -1 }, { maxBytes: 1.5 }, { maxBytes: Number.NaN }, { maxPixels: '100' }]) {
        const bad = limits as unknown as { maxPixels: number };
        expect(() => resolveImageLimits(bad), JSON.stringify(limits)).toThrow(InvalidArgumentError);
        expect(() => new ImagePreprocessor(parsePreprocessorConfig({}), { limits: bad })).toThrow(InvalidArgumentError);
        await expectTyped(decodeImage(await validPng(), { limits: bad }), InvalidArgumentError.isInstance);
      }
      await expectTyped(readImageInput(await validPng(), Number.NaN), InvalidArgumentError.isInstance);
      expect(resolveImageLimits({ maxPixels: undefined, maxBytes: 10 })).toEqual({ maxPixels: DEFAULT_IMAGE_LIMITS.maxPixels, maxBytes: 10 });
    },
    fast,
  );
});

describe('checkImageInput (issue 11 item 6)', () => {
  it('accepts paths, buffers and data: URLs without any I/O', () => {
    for (const input of [join(tmp, 'not-there.png'), Buffer.from([1]), new Uint8Array([1]), 'data:image/png;base64,AA==']) {
      expect(() => checkImageInput(input, 0)).not.toThrow();
    }
  });

  it('rejects null, numbers, objects, other typed arrays and empty values with ImageSourceError naming the index', () => {
    const bad: unknown[] = [null, undefined, 42, {}, [], '', new Uint16Array(2), new ArrayBuffer(4), new Uint8Array(0), Symbol('x')];
    for (const input of bad) {
      let error: unknown;
      try {
        checkImageInput(input, 3);
      } catch (caught) {
        error = caught;
      }
      expect(ImageSourceError.isInstance(error), String(input?.toString?.() ?? input)).toBe(true);
      expect((error as Error).message).toMatch(/^Image 3 /);
    }
  });

  it(
    'a null image in a batch gives ImageSourceError, and inputs that are not an array InvalidArgumentError',
    async () => {
      const png = await validPng();
      await expectTyped(preprocessImages([png, null as unknown as string], llavaConfigPath), ImageSourceError.isInstance);
      await expectTyped(decodeImage(null as unknown as string), ImageSourceError.isInstance);
      const preprocessor = await ImagePreprocessor.load(llavaConfigPath);
      await expectTyped(preprocessor.preprocessBatch('a.png' as unknown as string[]), InvalidArgumentError.isInstance);
    },
    fast,
  );
});
