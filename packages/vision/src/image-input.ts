import { constants as bufferConstants } from 'node:buffer';
import { constants, Stats } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { ImageSourceError, ImageTooLargeError } from './errors';
import { parseDataUrl } from './data-url';
import { resolveImageLimits } from './image-limits';
import { throwIfAborted } from './throw-if-aborted';

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
  if (input instanceof Uint8Array) return `<buffer ${input.byteLength} bytes>`;
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

const FORMS_HINT = 'Pass a file path, a Buffer/Uint8Array of the encoded image, or a data:image/...;base64,... URL.';

/**
 * Checks that a value has the type of an {@link ImageInput} — a non-empty
 * string (path or `data:` URL) or a non-empty `Uint8Array`/`Buffer` — without
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
    if (input.length === 0) throw invalidInput(where, '<empty string>', 'is an empty string', FORMS_HINT);
    if (input.includes('\0')) throw invalidInput(where, '<string with NUL>', 'is a string holding a NUL character, which no path can', FORMS_HINT);
    return;
  }
  if (input instanceof Uint8Array) {
    if (input.byteLength === 0) throw invalidInput(where, '<buffer 0 bytes>', 'is an empty buffer', 'Pass the non-empty encoded image bytes.');
    return;
  }
  const hint = ArrayBuffer.isView(input) || input instanceof ArrayBuffer ? 'Wrap the bytes: new Uint8Array(buffer).' : FORMS_HINT;
  throw invalidInput(where, `<${describeValue(input)}>`, `is ${describeValue(input)}, not a file path, a Buffer/Uint8Array or a data: URL`, hint);
}

function fileKind(info: Stats): string {
  if (info.isDirectory()) return 'a directory';
  if (info.isFIFO()) return 'a FIFO';
  if (info.isSocket()) return 'a socket';
  if (info.isCharacterDevice()) return 'a character device';
  if (info.isBlockDevice()) return 'a block device';
  return 'not a file';
}

function notRegular(path: string, info: Stats): ImageSourceError {
  // Reading a FIFO or device could block forever or never end, so only plain files are read.
  return new ImageSourceError({ source: path, message: `${path} is not a regular file (${fileKind(info)}).`, hint: 'Pass the path of an image file.' });
}

function unreadable(path: string, action: string, cause: unknown): ImageSourceError {
  const reason = (cause as NodeJS.ErrnoException)?.code ?? String(cause);
  const message = `Cannot ${action} image file ${path}: ${reason}.`;
  return new ImageSourceError({ source: path, message, hint: 'Check the path exists and is readable.', cause });
}

// O_NONBLOCK: should the path turn into a FIFO between stat() and open(), open() still returns at once.
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0);
const MIN_CHUNK = 64 * 1024;
const MAX_CHUNK = 16 * 1024 * 1024;

async function openRegularFile(path: string): Promise<{ handle: FileHandle; size: number }> {
  let info: Stats;
  try {
    info = await stat(path);
  } catch (cause) {
    throw unreadable(path, 'open', cause);
  }
  if (!info.isFile()) throw notRegular(path, info);
  let handle: FileHandle;
  try {
    handle = await open(path, OPEN_FLAGS);
  } catch (cause) {
    throw unreadable(path, 'open', cause);
  }
  const opened = await handle.stat().catch((cause: unknown) => cause);
  if (opened instanceof Stats && opened.isFile()) return { handle, size: opened.size };
  await handle.close().catch(() => undefined);
  throw opened instanceof Stats ? notRegular(path, opened) : unreadable(path, 'stat', opened);
}

async function readChunk(handle: FileHandle, chunk: Uint8Array, path: string): Promise<number> {
  try {
    return (await handle.read(chunk, 0, chunk.length, null)).bytesRead;
  } catch (cause) {
    throw unreadable(path, 'read', cause); // e.g. EIO from /proc/self/mem
  }
}

/**
 * Reads at most a chunk past `maxBytes`. The stat size only sizes the chunks:
 * /proc files report 0 and can be endless, and a file can grow while it is read.
 */
async function readBounded(handle: FileHandle, sizeHint: number, path: string, maxBytes: number, signal?: AbortSignal): Promise<Uint8Array> {
  // Multiples of 4096 keep reads aligned for files such as /proc/self/pagemap that refuse other sizes.
  const chunkSize = Math.ceil(Math.min(Math.max(sizeHint + 1, MIN_CHUNK), MAX_CHUNK, maxBytes + 1) / 4096) * 4096;
  // Past the largest Buffer the chunks could not be joined, whatever maxBytes allows.
  const limit = Math.min(maxBytes, bufferConstants.MAX_LENGTH);
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    throwIfAborted(signal);
    const chunk = new Uint8Array(chunkSize);
    const bytesRead = await readChunk(handle, chunk, path);
    if (bytesRead === 0) break;
    chunks.push(chunk.subarray(0, bytesRead));
    total += bytesRead;
    if (total > limit) throw new ImageTooLargeError({ source: path, limit: 'bytes', actual: total, max: limit, atLeast: true });
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total);
}

async function readFileBounded(path: string, maxBytes: number, signal?: AbortSignal): Promise<Uint8Array> {
  const { handle, size } = await openRegularFile(path);
  try {
    return await readBounded(handle, size, path, maxBytes, signal);
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/**
 * Reads an {@link ImageInput} into encoded bytes. A file must be a regular
 * file (checked before it is opened) and is read in chunks, stopping as soon
 * as more than `maxBytes` have been read, whatever its size claims to be.
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
  else bytes = input.startsWith('data:') ? parseDataUrl(input, maxBytes) : await readFileBounded(input, maxBytes, signal);
  if (bytes.byteLength > maxBytes) {
    throw new ImageTooLargeError({ source: label, limit: 'bytes', actual: bytes.byteLength, max: maxBytes });
  }
  if (bytes.byteLength === 0) {
    throw new ImageSourceError({ source: label, message: `Image ${label} is empty.`, hint: 'Pass a non-empty image.' });
  }
  return { bytes, label };
}
