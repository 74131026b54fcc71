/**
 * What both entries of `@msd/tokenizer` export: everything but reading files from disk, so it runs in Node
 * and in browsers alike. `index.ts` (Node) adds the filesystem reader; `browser.ts` adds nothing.
 */
export { Tokenizer } from './tokenizer';
export type { LoadTokenizerOptions, LoadTokenizerFromUrlOptions, EncodeOptions, EncodePromptOptions, DecodeOptions } from './tokenizer';
export { DEFAULT_MAX_PROMPT_CHARACTERS } from './prompt-length-limit';
export { readTokenizerFilesWith, validateTokenizerFiles } from './tokenizer-files';
export { fetchTokenizerFiles } from './tokenizer-url';
export type { FetchTokenizerFilesOptions } from './tokenizer-url';
export type { TokenizerFiles, TokenizerFileReader, TokenizerJson, TokenizerConfigJson, AddedTokenJson, ConfigToken } from './tokenizer-files';
export { IncrementalDetokenizer } from './incremental-detokenizer';
export type { IncrementalDetokenizerOptions } from './incremental-detokenizer';
export type { PromptSegment, ContentPart, ChatMessage, EncodedPrompt } from './prompt-segment';
export { applyChatTemplate } from './chat-template';
export type { ChatTemplateOptions } from './chat-template';
export { buildLlavaPrompt } from './llava-prompt';
export type { LlavaPromptOptions } from './llava-prompt';
export { imageTokensPerImage } from './image-tokens-per-image';
export { expandImagePlaceholders } from './expand-image-placeholders';
export type { ExpandImageOptions, ExpandedPrompt } from './expand-image-placeholders';
export { tagPromptIds } from './tag-prompt-ids';
export {
  ImageCountMismatchError,
  UnknownSpecialTokenError,
  EmptyPromptError,
  MissingImageTokenError,
  ChatTemplateError,
  PromptTooLongError,
} from './errors';
