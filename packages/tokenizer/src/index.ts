/**
 * Tokenization for msd: Hugging Face tokenizers loaded safely (user text never becomes control or image
 * tokens), exact decoding and streaming detokenization, LLaVA and chat-template prompts, and image
 * placeholder expansion with per-position token-type tags.
 *
 * @module @msd/tokenizer
 */
export { Tokenizer } from './tokenizer';
export type { LoadTokenizerOptions, EncodeOptions, EncodePromptOptions, DecodeOptions } from './tokenizer';
export { DEFAULT_MAX_PROMPT_CHARACTERS } from './prompt-length-limit';
export { readTokenizerFiles, validateTokenizerFiles } from './tokenizer-files';
export type { TokenizerFiles, TokenizerJson, TokenizerConfigJson, AddedTokenJson, ConfigToken } from './tokenizer-files';
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
