import type { TargetRunner } from '@msd/core';
import type { DraftRunner } from '@msd/draft';
import { prepareInputs } from '@msd/models';
import type { Tokenizer } from '@msd/tokenizer';
import type { ImagePreprocessor } from '@msd/vision';
import { decode } from './decode-loop';
import { resolveGenerateOptions } from './generate-options';

/**
 * A grey PNG of `side` x `side` pixels, encoded here (stored, uncompressed deflate blocks) so that the
 * warm-up needs no image file, no image library outside `@msd/vision` and no Node module: the same code
 * warms a pipeline up in Node and in a browser.
 */
export function greyPng(side: number): Uint8Array {
  // Each scanline: filter byte 0, then RGB grey.
  const stride = 1 + side * 3;
  const scanlines = new Uint8Array(side * stride).fill(128);
  for (let row = 0; row < side; row++) scanlines[row * stride] = 0;
  const header = new Uint8Array(13);
  const view = new DataView(header.buffer);
  view.setUint32(0, side);
  view.setUint32(4, side);
  header.set([8, 2, 0, 0, 0], 8); // 8-bit RGB, no interlace
  const signature = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  return concat([new Uint8Array(signature), pngChunk('IHDR', header), pngChunk('IDAT', storedZlib(scanlines)), pngChunk('IEND', new Uint8Array(0))]);
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

function pngChunk(type: string, data: Uint8Array): Uint8Array {
  const body = concat([Uint8Array.from(type, (character) => character.charCodeAt(0)), data]);
  const out = new Uint8Array(4 + body.length + 4);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  out.set(body, 4);
  view.setUint32(4 + body.length, crc32(body));
  return out;
}

/** A zlib stream of stored (uncompressed) deflate blocks: valid, and simple enough to write here. */
function storedZlib(data: Uint8Array): Uint8Array {
  const parts: Uint8Array[] = [new Uint8Array([0x78, 0x01])];
  for (let offset = 0; offset < data.length || offset === 0; offset += 65535) {
    const block = data.subarray(offset, offset + 65535);
    const final = offset + 65535 >= data.length ? 1 : 0;
    parts.push(new Uint8Array([final, block.length & 0xff, block.length >> 8, ~block.length & 0xff, (~block.length >> 8) & 0xff]), block);
    if (data.length === 0) break;
  }
  let a = 1;
  let b = 0;
  for (const byte of data) {
    a = (a + byte) % 65521;
    b = (b + a) % 65521;
  }
  const adler = new Uint8Array(4);
  new DataView(adler.buffer).setUint32(0, ((b << 16) | a) >>> 0);
  parts.push(adler);
  return concat(parts);
}

function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit++) crc = (crc >>> 1) ^ (0xedb88320 & -(crc & 1));
  }
  return (crc ^ 0xffffffff) >>> 0;
}

/** What {@link warmUp} runs. */
export interface WarmUpModels<TargetCache, DraftCache> {
  tokenizer: Tokenizer;
  preprocessor: ImagePreprocessor;
  target: TargetRunner<TargetCache>;
  draft: DraftRunner<DraftCache> | undefined;
  imageTokensPerImage: number;
  eosTokenId: number;
}

/**
 * Runs one short image request through every graph (vision encoder, embeddings, decoder prefill and
 * tree steps, draft prefill and rounds), so that onnxruntime's first-run work (memory arenas, kernel
 * selection, shape inference) happens at load, not in the first user request. It leaves no state
 * behind: its caches are freed and the speculation policy's memory is not touched.
 *
 * @example
 * ```ts
 * await warmUp({ tokenizer, preprocessor, target, draft, imageTokensPerImage: 144, eosTokenId: 2 });
 * ```
 */
export async function warmUp<TargetCache, DraftCache>(models: WarmUpModels<TargetCache, DraftCache>): Promise<void> {
  const request = await prepareInputs({
    tokenizer: models.tokenizer,
    preprocessor: models.preprocessor,
    imageTokensPerImage: models.imageTokensPerImage,
    messages: [{ role: 'user', content: [{ type: 'image' }, { type: 'text', text: 'Describe the image.' }] }],
    images: [greyPng(16)],
  });
  // A fixed chain and no speculation policy: the draft runs whatever the model answers.
  const settings = resolveGenerateOptions({ maxNewTokens: 8, adaptive: false }, { depth: 3, branching: 1, totalTokens: 3 });
  for await (const _ of decode({ target: models.target, draft: models.draft, request, settings, eosTokenId: models.eosTokenId })) {
    // Tokens are discarded.
  }
}
