/**
 * Tokenization for msd: Hugging Face tokenizers loaded safely (user text never becomes control or image
 * tokens), exact decoding and streaming detokenization, LLaVA and chat-template prompts, and image
 * placeholder expansion with per-position token-type tags.
 *
 * This is the Node entry; bundlers that resolve the `browser` condition get `browser.ts`, the same API without
 * {@link readTokenizerFiles} (and with a `Tokenizer.fromDirectory` that throws).
 *
 * @module @msd/tokenizer
 */
export * from './portable';
export { readTokenizerFiles } from './tokenizer-directory';
