import { Template } from '@huggingface/jinja';
import { describeValue, InvalidArgumentError } from '@msd/core';
import { validateChatMessages } from './chat-message-validation';
import { EmptyPromptError, ChatTemplateError } from './errors';
import { OpaqueUserStrings, type RenderedPiece } from './opaque-user-strings';
import type { ChatMessage, PromptSegment } from './prompt-segment';
import { SpecialTokenSplitter } from './special-token-splitter';
import type { Tokenizer } from './tokenizer';

/**
 * Options of {@link applyChatTemplate}.
 *
 * @example
 * ```ts
 * applyChatTemplate(tokenizer, messages, { addGenerationPrompt: true, variables: { date: '2026-11-27' } });
 * ```
 */
export interface ChatTemplateOptions {
  /** End with the assistant prefix so the model answers next. Default `true`. */
  addGenerationPrompt?: boolean;
  /** A jinja template to use instead of the tokenizer's `chat_template`. Trusted: it may write special tokens. */
  template?: string;
  /** Extra variables for the template. Trusted like the template: strings in them may write special tokens. */
  variables?: Record<string, unknown>;
  /**
   * Roles the template sees as they are, so it can compare them (`message.role == 'user'`).
   * Default `['system', 'user', 'assistant', 'tool']`. Any other role reaches the template as opaque text
   * (like message content): it renders as plain text but equals no literal.
   */
  roles?: readonly string[];
}

const DEFAULT_ROLES: readonly string[] = ['system', 'user', 'assistant', 'tool'];

/**
 * Renders messages with a jinja chat template (the tokenizer's `chat_template` by default) into prompt
 * segments, ready for `tokenizer.encodePrompt`.
 *
 * Special-token strings written by the template (`{{ bos_token }}`, `<image>`, `</s>`) become special/image
 * segments. Strings from the messages (text parts, string content, unknown roles, `name` and any other field)
 * never do, however they are split across parts or joined by the template: the template renders them as
 * opaque placeholders, which come back as plain-text segments after special tokens are matched in the
 * template's own text. So image placeholders come only from `{ type: 'image' }` parts the template renders.
 * The template can output message strings and `trim`/`strip` them, but other string operations on them
 * (`upper`, slicing, `replace`, `in`, `split`) see the placeholder, not the text; one that cuts a placeholder
 * throws {@link ChatTemplateError}.
 *
 * Throws `InvalidArgumentError` for messages that are not an array of `{ role, content }` objects,
 * {@link EmptyPromptError} for no messages, and {@link ChatTemplateError} for a missing or failing template.
 *
 * @example
 * ```ts
 * import { applyChatTemplate } from '@msd/tokenizer';
 *
 * const segments = applyChatTemplate(tokenizer, [
 *   { role: 'user', content: [{ type: 'image' }, { type: 'text', text: 'What is this?' }] },
 * ]);
 * const prompt = tokenizer.encodePrompt(segments);
 * ```
 */
export function applyChatTemplate(tokenizer: Tokenizer, messages: readonly ChatMessage[], options: ChatTemplateOptions = {}): PromptSegment[] {
  const template = parseTemplate(options.template ?? tokenizer.chatTemplate, tokenizer);
  validateChatMessages(messages);
  if (messages.length === 0) throw new EmptyPromptError({ message: 'No messages to render.' });
  const userStrings = new OpaqueUserStrings();
  const hiddenMessages = userStrings.hideMessages(messages, knownRoles(options.roles));
  let rendered: string;
  try {
    rendered = template.render({
      bos_token: tokenizer.bosToken ?? '',
      eos_token: tokenizer.eosToken ?? '',
      unk_token: tokenizer.unkToken ?? '',
      pad_token: tokenizer.padToken ?? '',
      image_token: tokenizer.imageToken ?? '',
      ...options.variables,
      messages: hiddenMessages,
      add_generation_prompt: options.addGenerationPrompt ?? true,
    });
  } catch (cause) {
    const reason = userStrings.reveal((cause as Error).message);
    throw new ChatTemplateError({ message: `The chat template failed to render: ${reason}`, cause });
  }
  return toSegments(userStrings.split(rendered), tokenizer);
}

function parseTemplate(source: string | undefined, tokenizer: Tokenizer): Template {
  if (source === undefined) {
    throw new ChatTemplateError({
      message: `The tokenizer${tokenizer.source ? ` at ${tokenizer.source}` : ''} has no chat_template.`,
      hint: 'Pass options.template, or build a LLaVA prompt with buildLlavaPrompt().',
    });
  }
  try {
    return new Template(source);
  } catch (cause) {
    throw new ChatTemplateError({ message: `The chat template does not parse: ${(cause as Error).message}`, cause });
  }
}

function knownRoles(roles: readonly string[] | undefined): ReadonlySet<string> {
  if (roles === undefined) return new Set(DEFAULT_ROLES);
  if (!Array.isArray(roles) || !roles.every((role) => typeof role === 'string')) {
    throw new InvalidArgumentError({
      argument: 'roles',
      message: `options.roles must be an array of strings, got ${describeValue(roles)}.`,
      hint: "Pass e.g. ['system', 'user', 'assistant'].",
    });
  }
  return new Set(roles);
}

/** Matches special tokens in template text only; user strings become text segments as they are. */
function toSegments(pieces: readonly RenderedPiece[], tokenizer: Tokenizer): PromptSegment[] {
  const splitter = new SpecialTokenSplitter(tokenizer.addedTokens);
  const segments: PromptSegment[] = [];
  for (const piece of pieces) {
    if (piece.type === 'user') {
      appendText(segments, piece.text);
      continue;
    }
    for (const part of splitter.split(piece.text)) {
      if (part.type === 'text') appendText(segments, part.text);
      else segments.push(part.token === tokenizer.imageToken ? { type: 'image' } : { type: 'special', token: part.token });
    }
  }
  return segments;
}

/** Joins adjacent text (encodePrompt would join it anyway; one segment is easier to read). */
function appendText(segments: PromptSegment[], text: string): void {
  const last = segments[segments.length - 1];
  if (last?.type === 'text') last.text += text;
  else segments.push({ type: 'text', text });
}
