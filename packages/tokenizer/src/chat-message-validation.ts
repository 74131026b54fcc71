import { describeValue, InvalidArgumentError } from '@msd/core';
import type { ChatMessage } from './prompt-segment';

const MESSAGE_SHAPE_HINT =
  "A message looks like { role: 'user', content: 'Hi' } or { role: 'user', content: [{ type: 'image' }, { type: 'text', text: 'Hi' }] }.";

/**
 * Checks the shape of chat messages from untrusted JSON before a prompt is built from them, so a `null`
 * content or a text part without text fails with an {@link InvalidArgumentError} naming the field instead
 * of rendering as the word "undefined" or crashing later. Internal.
 */
export function validateChatMessages(messages: unknown): asserts messages is readonly ChatMessage[] {
  if (!Array.isArray(messages)) {
    throw invalidMessages('messages', `messages must be an array of chat messages, got ${describeValue(messages)}.`);
  }
  messages.forEach((message, index) => validateMessage(message, `messages[${index}]`));
}

/** True for `{...}` objects (not arrays, class instances, dates or null). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

function validateMessage(message: unknown, path: string): void {
  if (!isPlainObject(message)) throw invalidMessages(path, `${path} must be an object, got ${describeValue(message)}.`);
  if (typeof message.role !== 'string') {
    throw invalidMessages(`${path}.role`, `${path}.role must be a string such as 'user', got ${describeValue(message.role)}.`);
  }
  const content = message.content;
  if (typeof content === 'string') return;
  if (!Array.isArray(content)) {
    const got = describeValue(content);
    throw invalidMessages(`${path}.content`, `${path}.content must be a string or an array of content parts, got ${got}.`);
  }
  content.forEach((part, index) => validateContentPart(part, `${path}.content[${index}]`));
}

function validateContentPart(part: unknown, path: string): void {
  if (!isPlainObject(part)) throw invalidMessages(path, `${path} must be a content part object, got ${describeValue(part)}.`);
  if (part.type === 'image') return;
  if (part.type !== 'text') {
    throw invalidMessages(`${path}.type`, `Unknown content part type ${describeValue(part.type)} at ${path}; use 'text' or 'image'.`);
  }
  if (typeof part.text !== 'string') {
    throw invalidMessages(`${path}.text`, `${path} is a text part, so its text must be a string, got ${describeValue(part.text)}.`);
  }
}

function invalidMessages(argument: string, message: string): InvalidArgumentError {
  return new InvalidArgumentError({ argument, message, hint: MESSAGE_SHAPE_HINT });
}
