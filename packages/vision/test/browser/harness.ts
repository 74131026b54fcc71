// The page side of browser-preprocess.test.ts: bundled with esbuild under the `browser` condition, so
// '@msd/vision' here is the browser build. Bytes cross the Playwright boundary as base64 strings.
import * as vision from '@msd/vision';

/** How the test hands an image to the page: the same bytes in each of the browser build's input forms. */
export type PageInput = { kind: 'bytes' | 'blob' | 'data-url'; base64: string } | { kind: 'url'; url: string };

/** A typed error as the page saw it. */
export interface PageError {
  name: string;
  code: string | undefined;
  message: string;
  /** Which of the package's `isInstance` checks (and `@msd/core`'s, by code) it passes. */
  kinds: string[];
}

function toBase64(bytes: Uint8Array): string {
  let text = '';
  for (let offset = 0; offset < bytes.length; offset += 0x8000) text += String.fromCharCode(...bytes.subarray(offset, offset + 0x8000));
  return btoa(text);
}

function fromBase64(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (char) => char.charCodeAt(0));
}

function toInput(input: PageInput): vision.ImageInput {
  if (input.kind === 'url') return input.url;
  const bytes = fromBase64(input.base64);
  if (input.kind === 'blob') return new Blob([bytes]);
  if (input.kind === 'data-url') return `data:application/octet-stream;base64,${input.base64}`;
  return bytes;
}

function describeError(error: unknown): PageError {
  const checks = {
    ImageDecodeError: vision.ImageDecodeError.isInstance,
    UnsupportedImageFormatError: vision.UnsupportedImageFormatError.isInstance,
    ImageTooLargeError: vision.ImageTooLargeError.isInstance,
    ImageSourceError: vision.ImageSourceError.isInstance,
  };
  const { name, code, message } = error as { name: string; code?: string; message: string };
  return { name, code, message, kinds: Object.entries(checks).flatMap(([kind, check]) => (check(error) ? [kind] : [])) };
}

const harness = {
  /** Which pixel read-back paths this browser has: translucent pixels are exact only through WebGL2. */
  capabilities(): { webgl2: boolean } {
    const canvas = new (globalThis as unknown as { OffscreenCanvas: new (w: number, h: number) => { getContext(id: string): unknown } }).OffscreenCanvas(1, 1);
    return { webgl2: canvas.getContext('webgl2') !== null };
  },

  /** `decodeImage` of the browser build: the RGB bytes, to compare with sharp's decode byte for byte. */
  async decode(input: PageInput): Promise<{ width: number; height: number; rgb: string }> {
    const image = await vision.decodeImage(toInput(input));
    return { width: image.width, height: image.height, rgb: toBase64(image.data) };
  },

  /** `preprocessBatch` as packages/models' prepare-inputs calls it, with a preprocessor loaded from `config`. */
  async preprocessBatch(config: Record<string, unknown> | string, inputs: PageInput[]): Promise<{ dims: number[]; data: string }> {
    const preprocessor = await vision.ImagePreprocessor.load(config);
    const { data, dims } = await preprocessor.preprocessBatch(inputs.map(toInput), { signal: new AbortController().signal });
    return { dims, data: toBase64(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)) };
  },

  /** The rest of the API prepare-inputs and msd read: `config`, `outputSize`, `preprocess`, `prepareRgb`. */
  async single(config: Record<string, unknown>, input: PageInput) {
    const preprocessor = await vision.ImagePreprocessor.load(config);
    const rgb = await preprocessor.prepareRgb(toInput(input));
    const { data, dims } = await preprocessor.preprocess(toInput(input));
    return {
      config: preprocessor.config,
      outputSize: preprocessor.outputSize(640, 480),
      prepared: { width: rgb.width, height: rgb.height },
      dims,
      data: toBase64(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)),
    };
  },

  /** The error `preprocess` throws for `input`, with `options` for the preprocessor (limits, resampler). */
  async preprocessError(config: Record<string, unknown>, input: PageInput, options: vision.ImagePreprocessorOptions = {}): Promise<PageError | null> {
    try {
      await new vision.ImagePreprocessor(vision.parsePreprocessorConfig(config), options).preprocess(toInput(input));
      return null;
    } catch (error) {
      return describeError(error);
    }
  },

  /** The error `preprocess` throws with an already aborted signal. */
  async abortedError(config: Record<string, unknown>, input: PageInput): Promise<PageError | null> {
    const controller = new AbortController();
    controller.abort();
    try {
      await (await vision.ImagePreprocessor.load(config)).preprocess(toInput(input), { signal: controller.signal });
      return null;
    } catch (error) {
      return describeError(error);
    }
  },
};

export type Harness = typeof harness;
(globalThis as { msdVisionHarness?: Harness }).msdVisionHarness = harness;
