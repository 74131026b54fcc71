// package.json `imports`: node:fs in Node, fetch in browsers (see image-platform.ts).
import { platform } from '#image-platform';
import { ImageSourceError, ImageTooLargeError } from './errors';
import { parseDataUrl } from './data-url';
import { resolveImageLimits } from './image-limits';

/**
 * What the preprocessing functions accept: the encoded bytes (`Uint8Array`/`Buffer`, or a `Blob`/`File`), a
 * `data:` URL (`data:image/png;base64,...`), or another string: in Node a file path, in the browser build an
 * `http:`/`https:`/`blob:` URL (relative ones resolve against the page), fetched with `fetch`.
 *
 * @example
 * ```ts
 * import type { ImageInput } from '@msd/vision';
 *
 * const inputs: ImageInput[] = ['cat.jpg', await readFile('dog.png'), 'data:image/png;base64,iVBOR...', new Blob([bytes])];
 * ```
 */
export type ImageInput = string | Uint8Array | Blob;

/** `Blob` is global in Node >= 18 and in browsers; the check still guards an odd runtime without it. */
function isBlob(value: unknown): value is Blob {
  return typeof Blob === 'function' && value instanceof Blob;
}

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
  /** The path or URL, `<buffer N bytes>`, `<blob N bytes>` or `<data: URL N chars>`. */
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
  if (input instanceof Uint8Array) return `<buffer ${input.byteLength} bytes>`;
  if (isBlob(input)) return `<blob ${input.size} bytes>`;
  if (typeof input !== 'string') return `<${describeValue(input)}>`;
  if (input.startsWith('data:')) return `<data: URL ${input.length} chars>`;
  return input;
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (ArrayBuffer.isView(value)) return `a ${value.constructor.name}`;
  if (value instanceof ArrayBuffer) return 'an ArrayBuffer';
  if (typeof value === 'object') return `an object (${Object.prototype.toString.call(value)})`;
  return `a ${typeof value}`;
}

function invalidInput(where: string, label: string, problem: string, hint: string): ImageSourceError {
  return new ImageSourceError({ source: label, message: `${where} ${problem}.`, hint });
}

/**
 * Checks that a value has the type of an {@link ImageInput} — a non-empty
 * string (path, URL or `data:` URL) or a non-empty `Uint8Array`/`Buffer`/`Blob` — without
 * any I/O, so a request can be refused before anything is read. It does not
 * check that a file exists or that the bytes are an image.
 *
 * @param input - The value to check (typically an element of a request's images).
 * @param index - Its position, for the message (`Image 2 is null ...`).
 * @throws ImageSourceError (`image_source_unreadable`) naming the problem.
 * @example
 * ```ts
 * import { checkImageInput } from '@msd/vision';
 *
 * const images: unknown[] = request.images;
 * images.forEach((image, index) => checkImageInput(image, index)); // throws on null, 42, {}, ''
 * ```
 */
export function checkImageInput(input: unknown, index?: number): asserts input is ImageInput {
  const where = index === undefined ? 'The image' : `Image ${index}`;
  if (typeof input === 'string') {
    if (input.length === 0) throw invalidInput(where, '<empty string>', 'is an empty string', platform.inputForms);
    if (input.includes('\0'))
      throw invalidInput(where, '<string with NUL>', 'is a string holding a NUL character, which no path or URL can', platform.inputForms);
    return;
  }
  if (input instanceof Uint8Array) {
    if (input.byteLength === 0) throw invalidInput(where, '<buffer 0 bytes>', 'is an empty buffer', 'Pass the non-empty encoded image bytes.');
    return;
  }
  if (isBlob(input)) {
    if (input.size === 0) throw invalidInput(where, '<blob 0 bytes>', 'is an empty Blob', 'Pass the non-empty encoded image.');
    return;
  }
  const hint = ArrayBuffer.isView(input) || input instanceof ArrayBuffer ? 'Wrap the bytes: new Uint8Array(buffer).' : platform.inputForms;
  throw invalidInput(where, `<${describeValue(input)}>`, `is ${describeValue(input)}, not a string, a Buffer/Uint8Array or a Blob`, hint);
}

/**
 * Reads an {@link ImageInput} into encoded bytes. A file must be a regular
 * file (checked before it is opened) and is read in chunks, stopping as soon
 * as more than `maxBytes` have been read, whatever its size claims to be; a URL
 * (browser build) is refused by its `Content-Length` and read the same way; a
 * `Blob` is refused by its `size` before it is read.
 *
 * @param maxBytes - A positive integer.
 * @param signal - Checked between chunks; aborting throws its reason.
 * @throws ImageSourceError, ImageTooLargeError; InvalidArgumentError for a bad `maxBytes`
 * @example
 * ```ts
 * import { readImageInput } from '@msd/vision';
 *
 * const { bytes } = await readImageInput('cat.jpg', 64 * 1024 * 1024);
 * ```
 */
export async function readImageInput(input: ImageInput, maxBytes: number, signal?: AbortSignal): Promise<ImageBytes> {
  resolveImageLimits({ maxBytes }); // a NaN or negative limit would never stop the read
  checkImageInput(input);
  const label = describeImageInput(input);
  let bytes: Uint8Array;
  if (input instanceof Uint8Array) bytes = input;
  else if (isBlob(input)) bytes = await readBlob(input, label, maxBytes);
  else bytes = input.startsWith('data:') ? parseDataUrl(input, maxBytes) : await platform.readLocation(input, maxBytes, signal);
  if (bytes.byteLength > maxBytes) {
    throw new ImageTooLargeError({ source: label, limit: 'bytes', actual: bytes.byteLength, max: maxBytes });
  }
  if (bytes.byteLength === 0) {
    throw new ImageSourceError({ source: label, message: `Image ${label} is empty.`, hint: 'Pass a non-empty image.' });
  }
  return { bytes, label };
}

async function readBlob(blob: Blob, label: string, maxBytes: number): Promise<Uint8Array> {
  if (blob.size > maxBytes) throw new ImageTooLargeError({ source: label, limit: 'bytes', actual: blob.size, max: maxBytes });
  try {
    return new Uint8Array(await blob.arrayBuffer());
  } catch (cause) {
    // A File whose file changed or vanished after it was picked cannot be read any more.
    throw new ImageSourceError({ source: label, message: `Cannot read image ${label}: ${String((cause as Error)?.message ?? cause)}.`, cause });
  }
}
