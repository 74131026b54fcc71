import { TokenTypeCode, type ImageSpan, type TokenTypeTags } from '@msd/core';

/** Tags for `length` positions: position 0 special, the given image spans, text elsewhere. */
export function makeTags(length: number, spans: ImageSpan[]): TokenTypeTags {
  const tags: TokenTypeTags = {
    types: new Uint8Array(length),
    imageIndex: new Int32Array(length).fill(-1),
    patchIndex: new Int32Array(length).fill(-1),
    imageSpans: spans,
  };
  tags.types[0] = TokenTypeCode.special;
  for (const span of spans) {
    for (let patch = 0; patch < span.length; patch++) {
      tags.types[span.start + patch] = TokenTypeCode.image;
      tags.imageIndex[span.start + patch] = span.imageIndex;
      tags.patchIndex[span.start + patch] = patch;
    }
  }
  return tags;
}

/** Deterministic float rows: value = row * 100 + column + offset. */
export function rows(count: number, width: number, offset = 0): Float32Array {
  return Float32Array.from({ length: count * width }, (_, index) => Math.floor(index / width) * 100 + (index % width) + offset);
}
