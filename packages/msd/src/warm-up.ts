import { crc32, deflateSync } from 'node:zlib';
import type { TargetRunner } from '@msd/core';
import type { DraftRunner } from '@msd/draft';
import { prepareInputs } from '@msd/models';
import type { Tokenizer } from '@msd/tokenizer';
import type { ImagePreprocessor } from '@msd/vision';
import { decode } from './decode-loop';
import { resolveGenerateOptions } from './generate-options';

/**
 * A grey PNG of `side` x `side` pixels, encoded here (stored deflate of the scanlines) so that the
 * warm-up needs no image file and no image library outside `@msd/vision`.
 */
export function greyPng(side: number): Uint8Array {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const checksum = Buffer.alloc(4);
    checksum.writeUInt32BE(crc32(body) >>> 0);
    return Buffer.concat([length, body, checksum]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(side, 0);
  header.writeUInt32BE(side, 4);
  header.set([8, 2, 0, 0, 0], 8); // 8-bit RGB, no interlace
  // Each scanline: filter byte 0, then RGB grey.
  const scanlines = Buffer.alloc(side * (1 + side * 3), 128);
  for (let row = 0; row < side; row++) scanlines[row * (1 + side * 3)] = 0;
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return new Uint8Array(Buffer.concat([signature, chunk('IHDR', header), chunk('IDAT', deflateSync(scanlines)), chunk('IEND', Buffer.alloc(0))]));
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
