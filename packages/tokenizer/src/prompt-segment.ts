/**
 * One piece of a structured prompt. Text is always encoded as plain text (special-token strings in it are
 * not matched), so only `special` and `image` segments can produce control or image tokens.
 *
 * @example
 * ```ts
 * import type { PromptSegment } from '@msd/tokenizer';
 *
 * const prompt: PromptSegment[] = [
 *   { type: 'special', token: '<s>' },
 *   { type: 'text', text: 'USER: ' },
 *   { type: 'image' },
 *   { type: 'text', text: '\nWhat is in the picture? ASSISTANT:' },
 * ];
 * ```
 */
export type PromptSegment = { type: 'text'; text: string } | { type: 'special'; token: string } | { type: 'image' };

/**
 * A part of a chat message: text, or an image placeholder (the image itself travels separately, in order).
 *
 * @example
 * ```ts
 * import type { ContentPart } from '@msd/tokenizer';
 *
 * const parts: ContentPart[] = [{ type: 'image' }, { type: 'text', text: 'What is this?' }];
 * ```
 */
export type ContentPart = { type: 'text'; text: string } | { type: 'image' };

/**
 * A chat message. `content` is plain text or a list of text and image parts. Other fields (`name`, ...) are
 * for chat templates that render them; `applyChatTemplate` passes them as data whose strings are plain text.
 *
 * @example
 * ```ts
 * import type { ChatMessage } from '@msd/tokenizer';
 *
 * const messages: ChatMessage[] = [
 *   { role: 'user', name: 'Ada', content: [{ type: 'image' }, { type: 'text', text: 'Describe the image.' }] },
 * ];
 * ```
 */
export interface ChatMessage {
  /** Who speaks; `buildLlavaPrompt` knows `system`, `user` and `assistant`, a chat template may know more. */
  role: 'system' | 'user' | 'assistant' | (string & {});
  /** The message: plain text, or text and image parts in order (one image placeholder per image part). */
  content: string | ContentPart[];
  /** The speaker's name, for templates that render it (`buildLlavaPrompt` ignores it). */
  name?: string;
  /** Further fields for the chat template: JSON data with identifier field names. */
  [field: string]: unknown;
}

/**
 * A prompt encoded to ids, with the kind of every position (`TokenTypeCode` from `@msd/core`):
 * text, special, or image (one position per image placeholder, before expansion).
 *
 * @example
 * ```ts
 * import type { EncodedPrompt } from '@msd/tokenizer';
 *
 * const prompt: EncodedPrompt = tokenizer.encodePrompt(segments);
 * console.log(prompt.ids.length === prompt.types.length);
 * ```
 */
export interface EncodedPrompt {
  /** Token ids, one per position; each image is still one placeholder id. */
  ids: number[];
  /** `TokenTypeCode` of each position, parallel to `ids`. */
  types: Uint8Array;
}
