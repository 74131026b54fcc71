import type { OnnxRuntime, Tensor } from '@msd/runtime';

/**
 * The int64 `[R]` input that tells a graph which of its `count` new rows to compute output for: the
 * last only, or all of them. The draft's `topk_rows` and the decoder's `logits_rows` take it.
 */
export function rowSelection(ort: OnnxRuntime, count: number, rows: 'all' | 'last'): Tensor {
  const indices = rows === 'last' ? BigInt64Array.of(BigInt(count - 1)) : BigInt64Array.from({ length: count }, (_, i) => BigInt(i));
  return new ort.Tensor('int64', indices, [indices.length]);
}
