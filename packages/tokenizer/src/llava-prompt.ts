import { describeValue, InvalidArgumentError } from '@msd/core';
import { validateChatMessages } from './chat-message-validation';
import { EmptyPromptError } from './errors';
import type { ChatMessage, ContentPart, PromptSegment } from './prompt-segment';

/**
 * Options of {@link buildLlavaPrompt}.
 *
 * @example
 * ```ts
 * buildLlavaPrompt(messages, { systemPrompt: 'A chat between a curious human and an AI assistant.' });
 * ```
 */
export interface LlavaPromptOptions {
  /** System prompt placed before the first turn (a `system` message does the same). */
  systemPrompt?: string;
  /** End with `ASSISTANT:` so the model answers next. Default `true`. */
  addGenerationPrompt?: boolean;
  /** Beginning-of-sequence token, or `null` for none. Default `<s>`. */
  bosToken?: string | null;
  /** Token closing every assistant turn. Default `</s>`. */
  eosToken?: string;
  /** Text after each image placeholder. Default `'\n'` (LLaVA's `<image>\n`). */
  imageSeparator?: string;
}

/**
 * Builds the LLaVA-1.5 conversation format as prompt segments:
 * `<s>{system} USER: <image>\n{question} ASSISTANT: {answer}</s>USER: ... ASSISTANT:`.
 *
 * Images go where their `{ type: 'image' }` parts are (any number, in any message); all message text and
 * the system prompt become text segments, which `encodePrompt` encodes as plain text, so `<image>` or `</s>`
 * typed inside them (whole, or split across parts) is never a placeholder or a control token. Matches the
 * chat template that `msd_training.tokenizer_export` writes.
 *
 * Throws `InvalidArgumentError` for messages that are not an array of `{ role, content }` objects, for a
 * role other than 'system', 'user' and 'assistant', and for a content part that is neither
 * `{ type: 'text', text: string }` nor `{ type: 'image' }`; {@link EmptyPromptError} for no messages.
 *
 * @example
 * ```ts
 * import { buildLlavaPrompt } from '@msd/tokenizer';
 *
 * const segments = buildLlavaPrompt([
 *   { role: 'user', content: [{ type: 'image' }, { type: 'text', text: 'What is shown?' }] },
 * ]);
 * const prompt = tokenizer.encodePrompt(segments); // '<s>USER: <image>\nWhat is shown? ASSISTANT:'
 * ```
 */
export function buildLlavaPrompt(messages: readonly ChatMessage[], options: LlavaPromptOptions = {}): PromptSegment[] {
  validateChatMessages(messages);
  checkSystemPrompt(options.systemPrompt);
  if (messages.length === 0) throw new EmptyPromptError({ message: 'No messages to build a prompt from.' });
  const eos = options.eosToken ?? '</s>';
  const separator = options.imageSeparator ?? '\n';
  const bos = options.bosToken === undefined ? '<s>' : options.bosToken;
  const segments: PromptSegment[] = bos === null ? [] : [{ type: 'special', token: bos }];
  const text = (value: string) => segments.push({ type: 'text', text: value });
  const content = (message: ChatMessage) => {
    for (const part of toParts(message.content)) {
      if (part.type === 'image') {
        segments.push({ type: 'image' });
        if (separator) text(separator);
      } else {
        text(part.text);
      }
    }
  };
  if (options.systemPrompt) text(`${options.systemPrompt} `);
  for (const [index, message] of messages.entries()) {
    if (message.role === 'system') {
      content(message);
      text(' ');
    } else if (message.role === 'user') {
      text('USER: ');
      content(message);
      text(' ');
    } else if (message.role === 'assistant') {
      text('ASSISTANT: ');
      content(message);
      segments.push({ type: 'special', token: eos });
    } else {
      throw new InvalidArgumentError({
        argument: `messages[${index}].role`,
        message: `Unknown role ${describeValue(message.role)} at messages[${index}]; LLaVA prompts use 'system', 'user' and 'assistant'.`,
        hint: 'Map other roles to one of these, or use applyChatTemplate() with a template that knows them.',
      });
    }
  }
  if (options.addGenerationPrompt ?? true) text('ASSISTANT:');
  return segments;
}

function toParts(content: string | readonly ContentPart[]): readonly ContentPart[] {
  return typeof content === 'string' ? [{ type: 'text', text: content }] : content;
}

function checkSystemPrompt(systemPrompt: unknown): void {
  if (systemPrompt === undefined || typeof systemPrompt === 'string') return;
  throw new InvalidArgumentError({
    argument: 'systemPrompt',
    message: `options.systemPrompt must be a string, got ${describeValue(systemPrompt)}.`,
    hint: 'Leave it out for no system prompt.',
  });
}
