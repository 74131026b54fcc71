/**
 * Works around a decode bug in `@huggingface/tokenizers` 0.2.0: its `ByteFallback` decoder uses a default
 * `TextDecoder`, which drops a U+FEFF (byte order mark) at the start of every byte-fallback run, so text
 * holding U+FEFF does not round-trip (SentencePiece and Hugging Face's Rust library keep it). This swaps in a
 * decoder with `ignoreBOM: true` (what the library's own ByteLevel decoder uses) on every ByteFallback step
 * of a decoder tree (the library's decoders are callable objects, hence functions). Internal; returns how many
 * decoders were patched.
 */
export function keepByteOrderMarks(decoder: unknown): number {
  if (decoder === null || (typeof decoder !== 'object' && typeof decoder !== 'function')) return 0;
  const node = decoder as { text_decoder?: unknown; decoders?: unknown; constructor?: { name?: string } };
  let patched = 0;
  if (Array.isArray(node.decoders)) {
    for (const child of node.decoders) patched += keepByteOrderMarks(child);
  }
  if (node.text_decoder instanceof TextDecoder && !node.text_decoder.ignoreBOM) {
    node.text_decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });
    patched++;
  }
  return patched;
}
