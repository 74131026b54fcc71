/**
 * The browser entry of `@msd/tokenizer` (the `browser` export condition): the Node entry's API minus
 * `readTokenizerFiles`. Load a tokenizer with `Tokenizer.fromUrl` or `Tokenizer.fromJSON`;
 * `Tokenizer.fromDirectory` throws an `InvalidArgumentError` here, as a page has no filesystem.
 */
export * from './portable';
