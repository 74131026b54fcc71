import { constants as bufferConstants } from 'node:buffer';
import { constants, Stats } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { ImageSourceError, ImageTooLargeError } from './errors';
import { throwIfAborted } from './throw-if-aborted';

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

/** The bytes of the file at `path`, refusing non-regular files and stopping just past `maxBytes` (see `readImageInput`). */
export async function readFileBounded(path: string, maxBytes: number, signal?: AbortSignal): Promise<Uint8Array> {
  const { handle, size } = await openRegularFile(path);
  try {
    return await readBounded(handle, size, path, maxBytes, signal);
  } finally {
    await handle.close().catch(() => undefined);
  }
}
