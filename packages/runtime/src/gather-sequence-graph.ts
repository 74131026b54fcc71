/**
 * The one-node ONNX graph (Gather along axis 2: batch, heads, sequence, head_dim) that compacts a KV
 * tensor where it lives. 204 bytes, kept inline so it opens the same way in Node and in a browser,
 * with no file to find or fetch. assets/gather_sequence.onnx is the same graph, for inspection.
 */
const GATHER_SEQUENCE_BASE64 =
  'CAgSA21zZDq8AQokCgF4CgdpbmRpY2VzEgF5IgZHYXRoZXIqCwoEYXhpcxgCoAECEg9nYXRoZXJfc2VxdWVuY2VaNQoBeBIwCi4IARIqCgcSBWJhdGNoCgcSBWhlYWRzCgoSCHNlcXVlbmNlCgoSCGhlYWRfZGltWhkKB2luZGljZXMSDgoMCAcSCAoGEgRrZXB0YjEKAXkSLAoqCAESJgoHEgViYXRjaAoHEgVoZWFkcwoGEgRrZXB0CgoSCGhlYWRfZGltQgQKABAR';

/**
 * The gather graph's bytes, ready for `InferenceSession.create`.
 *
 * @example
 * ```ts
 * import { gatherSequenceGraph, loadOnnxRuntime } from '@msd/runtime';
 *
 * const ort = await loadOnnxRuntime();
 * const session = await ort.InferenceSession.create(gatherSequenceGraph());
 * ```
 */
export function gatherSequenceGraph(): Uint8Array {
  const text = atob(GATHER_SEQUENCE_BASE64);
  const bytes = new Uint8Array(text.length);
  for (let index = 0; index < text.length; index++) bytes[index] = text.charCodeAt(index);
  return bytes;
}
