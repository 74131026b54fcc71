import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, TokenTypeCode, type ImageSpan } from '@msd/core';
import { blockedAttention, causalAttentionMask, prefillDraftInputs, updateDraftInputs } from '@msd/draft';
import { makeTags, rows } from './helpers';

const d = 3;
const IMAGE_ID = 500;

function promptIds(length: number, spans: ImageSpan[], root = 999): number[] {
  const tags = makeTags(length, spans);
  const ids = Array.from({ length }, (_, position) => (tags.types[position] === TokenTypeCode.image ? IMAGE_ID : 10 + position));
  return [...ids, root];
}

function expectCausal(mask: Float32Array, past: number, count: number): void {
  const width = past + count;
  expect(mask.length).toBe(count * width);
  for (let row = 0; row < count; row++) {
    for (let column = 0; column < width; column++) {
      expect(mask[row * width + column]).toBe(column <= past + row ? 0 : blockedAttention);
    }
  }
}

describe('prefillDraftInputs', () => {
  const cases: [string, number, ImageSpan[]][] = [
    ['text only', 6, []],
    ['one image in the middle', 9, [{ start: 2, length: 4, imageIndex: 0 }]],
    [
      'two images, one right after BOS and one at the end',
      12,
      [
        { start: 1, length: 4, imageIndex: 0 },
        { start: 8, length: 4, imageIndex: 1 },
      ],
    ],
  ];
  for (const [name, length, spans] of cases) {
    it(`pairs f_i with x_(i+1) and decouples image rows: ${name}`, () => {
      const ids = promptIds(length, spans);
      const tags = makeTags(length, spans);
      const targetHidden = rows(length, d);
      const imageFeatures = spans.length ? rows(spans.length * 4, d, 0.5) : undefined;
      const input = prefillDraftInputs({ ids, tags, targetHidden, imageFeatures, hiddenSize: d });

      expect(Array.from(input.positionIds)).toEqual(Array.from({ length }, (_, i) => i));
      expectCausal(input.attentionMask, 0, length);
      expect(Array.from(input.hiddenStates)).toEqual(Array.from(targetHidden));
      if (spans.length === 0) {
        expect(input.imageEmbeds).toBeUndefined();
        expect(input.imageMask).toBeUndefined();
      }
      for (let i = 0; i < length; i++) {
        const next = i + 1;
        const isImage = next < length && tags.types[next] === TokenTypeCode.image;
        const row = input.imageEmbeds ? Array.from(input.imageEmbeds.subarray(i * d, (i + 1) * d)) : [0, 0, 0];
        if (isImage) {
          const feature = (tags.imageIndex[next]! * 4 + tags.patchIndex[next]!) * d;
          expect(input.imageMask![i]).toBe(1);
          expect(row).toEqual(Array.from(imageFeatures!.subarray(feature, feature + d)));
          expect(input.inputIds[i]).toBe(0);
        } else {
          expect(input.imageMask?.[i] ?? 0).toBe(0);
          expect(row).toEqual([0, 0, 0]);
          expect(input.inputIds[i]).toBe(ids[next]);
        }
      }
      // The last row pairs f_(n-1) with the root.
      expect(input.inputIds[length - 1]).toBe(999);
    });
  }

  it('takes patch rows by image and patch index, e.g. images in reverse order', () => {
    const spans = [
      { start: 1, length: 2, imageIndex: 1 },
      { start: 4, length: 2, imageIndex: 0 },
    ];
    const tags = makeTags(7, spans);
    const imageFeatures = rows(4, d, 0.25); // image 0: rows 0-1, image 1: rows 2-3
    const input = prefillDraftInputs({ ids: promptIds(7, spans), tags, targetHidden: rows(7, d), imageFeatures, hiddenSize: d });
    expect(input.imageEmbeds![0]).toBe(200.25); // position 1 = image 1, patch 0
    expect(input.imageEmbeds![3 * d]).toBe(0.25); // position 4 = image 0, patch 0
    expect(input.imageEmbeds![4 * d]).toBe(100.25); // position 5 = image 0, patch 1
    expect(Array.from(input.imageMask!)).toEqual([1, 1, 0, 1, 1, 0, 0]);
  });

  it('accepts a tag for the root and rejects bad sizes with typed errors', () => {
    const tags = makeTags(5, []);
    expect(prefillDraftInputs({ ids: promptIds(4, []), tags, targetHidden: rows(4, d), hiddenSize: d }).inputIds.length).toBe(4);
    const bad = (options: Partial<Parameters<typeof prefillDraftInputs>[0]>, argument: string) => {
      const base = { ids: promptIds(4, []), tags: makeTags(4, []), targetHidden: rows(4, d), hiddenSize: d };
      try {
        prefillDraftInputs({ ...base, ...options });
        expect.unreachable();
      } catch (error) {
        expect(InvalidArgumentError.isInstance(error)).toBe(true);
        expect((error as InvalidArgumentError).argument).toBe(argument);
      }
    };
    bad({ targetHidden: rows(3, d) }, 'targetHidden');
    bad({ ids: [1] }, 'ids');
    bad({ tags: makeTags(2, []) }, 'tags');
    bad({ hiddenSize: 0 }, 'hiddenSize');
    const spans = [{ start: 1, length: 2, imageIndex: 0 }];
    bad({ tags: makeTags(4, spans) }, 'imageFeatures');
    bad({ tags: makeTags(4, spans), imageFeatures: rows(3, d) }, 'imageFeatures');
    bad({ tags: makeTags(4, [{ start: 1, length: 2, imageIndex: 1 }]), imageFeatures: rows(2, d) }, 'imageFeatures');
    bad({ tags: makeTags(5, [{ start: 4, length: 1, imageIndex: 0 }]), imageFeatures: rows(1, d) }, 'tags');
  });
});

describe('updateDraftInputs', () => {
  it('pairs (f_root, a1), (f_a1, a2), (f_a2, b) at positions n..n+2 over the committed cache', () => {
    const targetHidden = rows(3, d);
    const input = updateDraftInputs({ committedLength: 7, tokens: [41, 42, 43], targetHidden, hiddenSize: d });
    expect(Array.from(input.inputIds)).toEqual([41, 42, 43]);
    expect(Array.from(input.positionIds)).toEqual([7, 8, 9]);
    expect(Array.from(input.hiddenStates)).toEqual(Array.from(targetHidden));
    expect(input.imageEmbeds).toBeUndefined();
    expect(input.imageMask).toBeUndefined();
    expectCausal(input.attentionMask, 7, 3);
    expect(Array.from(input.attentionMask)).toEqual(Array.from(causalAttentionMask(7, 3)));
  });

  it('rejects an empty token list and mismatched hidden rows', () => {
    expect(() => updateDraftInputs({ committedLength: 2, tokens: [], targetHidden: new Float32Array(0), hiddenSize: d })).toThrow(InvalidArgumentError);
    expect(() => updateDraftInputs({ committedLength: 2, tokens: [1, 2], targetHidden: rows(1, d), hiddenSize: d })).toThrow(/targetHidden/);
    expect(() => updateDraftInputs({ committedLength: -1, tokens: [1], targetHidden: rows(1, d), hiddenSize: d })).toThrow(/committedLength/);
  });
});
