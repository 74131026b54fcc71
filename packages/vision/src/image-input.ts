import { open } from 'node:fs/promises';
import { ImageSourceError, ImageTooLargeError } from './errors';
import { parseDataUrl } from './data-url';

/**
 * What the preprocessing functions accept: a file path, the encoded bytes,
 * or a `data:` URL (`data:image/png;base64,...`).
 *
 * @example
 * ```ts
 * import type { ImageInput } from '@msd/vision';
 *
 * const inputs: ImageInput[] = ['cat.jpg', await readFile('dog.png'), 'data:image/png;base64,iVBOR...'];
 * ```
 */
export type ImageInput = string | Uint8Array;

/**
 * Encoded image bytes plus a short label for messages.
 *
 * @example
 * ```ts
 * import { readImageInput, type ImageBytes } from '@msd/vision';
 *
 * const { bytes, label }: ImageBytes = await readImageInput('cat.jpg', 1 << 26);
 * ```
 */
export interface ImageBytes {
  /** The encoded image. */
  bytes: Uint8Array;
  /** `path`, `<buffer N bytes>` or `<data: URL N bytes>`. */
  label: string;
}

/**
 * Describes an input for error messages without dumping its content.
 *
 * @example
 * ```ts
 * import { describeImageInput } from '@msd/vision';
 *
 * describeImageInput(new Uint8Array(10)); // '<buffer 10 bytes>'
 * ```
 */
export function describeImageInput(input: ImageInput): string {
  if (typeof input !== 'string') return `<buffer ${input.byteLength} bytes>`;
  if (input.startsWith('data:')) return `<data: URL ${input.length} chars>`;
  return input;
}

async function readFileBounded(path: string, maxBytes: number): Promise<Uint8Array> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (cause) {
    throw new ImageSourceError({
      source: path,
      message: `Cannot open image file ${path}: ${(cause as NodeJS.ErrnoException).code ?? String(cause)}.`,
      hint: 'Check the path exists and is readable.',
      cause,
    });
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) {
      throw new ImageSourceError({ source: path, message: `${path} is not a regular file.`, hint: 'Pass an image file path.' });
    }
    if (info.size > maxBytes) {
      throw new ImageTooLargeError({ source: path, limit: 'bytes', actual: info.size, max: maxBytes });
    }
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}

/**
 * Reads an {@link ImageInput} into encoded bytes, enforcing the byte limit
 * before reading a file.
 *
 * @example
 * ```ts
 * import { readImageInput } from '@msd/vision';
 *
 * const { bytes } = await readImageInput('cat.jpg', 64 * 1024 * 1024);
 * ```
 */
export async function readImageInput(input: ImageInput, maxBytes: number): Promise<ImageBytes> {
  const label = describeImageInput(input);
  let bytes: Uint8Array;
  if (input instanceof Uint8Array) {
    bytes = input;
  } else if (typeof input === 'string') {
    bytes = input.startsWith('data:') ? parseDataUrl(input, maxBytes) : await readFileBounded(input, maxBytes);
  } else {
    throw new ImageSourceError({
      source: String(input),
      message: `Expected a file path, a Buffer/Uint8Array or a data: URL, got ${typeof input}.`,
      hint: 'Pass one of the supported input forms.',
    });
  }
  if (bytes.byteLength > maxBytes) {
    throw new ImageTooLargeError({ source: label, limit: 'bytes', actual: bytes.byteLength, max: maxBytes });
  }
  if (bytes.byteLength === 0) {
    throw new ImageSourceError({ source: label, message: `Image ${label} is empty.`, hint: 'Pass a non-empty image.' });
  }
  return { bytes, label };
}
