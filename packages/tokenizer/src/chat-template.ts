import { Template } from '@huggingface/jinja';
import { EmptyPromptError, ChatTemplateError } from './errors';
import type { ChatMessage, ContentPart, PromptSegment } from './prompt-segment';
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
  /** A jinja template to use instead of the tokenizer's `chat_template`. */
  template?: string;
  /** Extra variables for the template. */
  variables?: Record<string, unknown>;
}

/** Marks an escaped character in untrusted text while the template renders (a private-use code point). */
const ESCAPE = '\uE000';
const TOKEN_BASE = 0xf0000; // supplementary private-use plane: one code point per added token

/**
 * Renders messages with a jinja chat template (the tokenizer's `chat_template` by default) into prompt
 * segments, ready for `tokenizer.encodePrompt`.
 *
 * Special-token strings written by the template (`{{ bos_token }}`, `<image>`, `</s>`) become special/image
 * segments. The same strings inside message text stay plain text: message text is escaped before
 * rendering and restored afterwards, so a user typing `<image>` or `</s>` cannot inject tokens.
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
export function applyChatTemplate(
  tokenizer: Tokenizer,
  messages: readonly ChatMessage[],
  options: ChatTemplateOptions = {},
): PromptSegment[] {
  const source = options.template ?? tokenizer.chatTemplate;
  if (source === undefined) {
    throw new ChatTemplateError({
      message: `The tokenizer${tokenizer.source ? ` at ${tokenizer.source}` : ''} has no chat_template.`,
      hint: 'Pass options.template, or build a LLaVA prompt with buildLlavaPrompt().',
    });
  }
  if (messages.length === 0) throw new EmptyPromptError({ message: 'No messages to render.' });
  const tokens = tokenizer.addedTokens.map((token) => token.content);
  const splitter = new SpecialTokenSplitter(tokenizer.addedTokens);
  const index = new Map(tokens.map((token, position) => [token, position]));
  const escape = (text: string) =>
    splitter.replaceAll(text.replaceAll(ESCAPE, ESCAPE + ESCAPE), (token) => ESCAPE + String.fromCodePoint(TOKEN_BASE + (index.get(token) as number)));
  const unescape = (text: string) =>
    text.replace(/\uE000(\uE000|[\u{F0000}-\u{FFFFD}])/gu, (_, code: string) =>
      code === ESCAPE ? ESCAPE : (tokens[(code.codePointAt(0) as number) - TOKEN_BASE] ?? ''),
    );

  let template: Template;
  let rendered: string;
  try {
    template = new Template(source);
  } catch (cause) {
    throw new ChatTemplateError({ message: `The chat template does not parse: ${(cause as Error).message}`, cause });
  }
  try {
    rendered = template.render({
      bos_token: tokenizer.bosToken ?? '',
      eos_token: tokenizer.eosToken ?? '',
      unk_token: tokenizer.unkToken ?? '',
      pad_token: tokenizer.padToken ?? '',
      image_token: tokenizer.imageToken ?? '',
      ...options.variables,
      messages: messages.map((message) => escapeMessage(message, escape)),
      add_generation_prompt: options.addGenerationPrompt ?? true,
    });
  } catch (cause) {
    throw new ChatTemplateError({ message: `The chat template failed to render: ${(cause as Error).message}`, cause });
  }
  return splitter.split(rendered).map((piece): PromptSegment => {
    if (piece.type === 'text') return { type: 'text', text: unescape(piece.text) };
    if (piece.token === tokenizer.imageToken) return { type: 'image' };
    return { type: 'special', token: piece.token };
  });
}

function escapeMessage(message: ChatMessage, escape: (text: string) => string): ChatMessage {
  const content =
    typeof message.content === 'string'
      ? escape(message.content)
      : message.content.map((part): ContentPart => (part.type === 'text' ? { ...part, text: escape(part.text) } : part));
  return { ...message, content };
}
