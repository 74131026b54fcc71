import { describeValue, InvalidArgumentError } from '@msd/core';
import { isPlainObject } from './chat-message-validation';
import { ChatTemplateError } from './errors';
import type { ChatMessage } from './prompt-segment';

// A placeholder is OPEN + index + CLOSE (private-use code points and digits: no tokenizer's special token is
// made of them, and upper/lower/title leave them alone). LEAD and TRAIL are whitespace, so `trim`, `strip`,
// `lstrip` and `rstrip` in a template remove them exactly when they would remove the user's own leading or
// trailing whitespace; the placeholder then comes back without it.
const OPEN = '\uE000';
const CLOSE = '\uE001';
const LEAD = '\u2000';
const TRAIL = '\u2001';
const PLACEHOLDER = /(\u2000?)\uE000(\d+)\uE001(\u2001?)/gu;
const MAX_DEPTH = 64;
const FIELD_NAME = /^[A-Za-z_][A-Za-z0-9_-]*$/;

interface HiddenString {
  lead: string;
  core: string;
  trail: string;
}

/** A piece of rendered template output: template text, or a user string put back in place of its placeholder. */
export type RenderedPiece = { type: 'template'; text: string } | { type: 'user'; text: string };

/**
 * Stands in for every user string while a chat template renders: the template only ever sees opaque
 * placeholders, so however it splits, joins or concatenates message fields, no user character is next to
 * template text when special tokens are matched. After rendering, {@link OpaqueUserStrings.split} puts the
 * strings back as separate pieces, which are encoded as plain text. Internal.
 */
export class OpaqueUserStrings {
  private readonly strings: HiddenString[] = [];

  /**
   * Copies of `messages` with every string replaced by a placeholder, except the content part `type`s
   * (checked to be 'text' or 'image') and roles in `knownRoles`, which templates compare against literals.
   */
  hideMessages(messages: readonly ChatMessage[], knownRoles: ReadonlySet<string>): unknown[] {
    return messages.map((message, index) => {
      const hidden = this.hideValue(message, `messages[${index}]`, 0) as Record<string, unknown>;
      if (knownRoles.has(message.role)) hidden.role = message.role;
      if (Array.isArray(message.content)) {
        hidden.content = (hidden.content as Array<Record<string, unknown>>).map((part, position) => ({
          ...part,
          type: (message.content[position] as { type: string }).type,
        }));
      }
      return hidden;
    });
  }

  /** The placeholder the template sees instead of `text` (`''` stays `''`: it is falsy in templates). */
  hide(text: string): string {
    if (text === '') return '';
    const core = text.trim();
    const leadLength = core === '' ? text.length : text.length - text.trimStart().length;
    const trailLength = core === '' ? 0 : text.length - text.trimEnd().length;
    this.strings.push({ lead: text.slice(0, leadLength), core, trail: text.slice(text.length - trailLength) });
    return `${leadLength > 0 ? LEAD : ''}${OPEN}${this.strings.length - 1}${CLOSE}${trailLength > 0 ? TRAIL : ''}`;
  }

  /**
   * Splits rendered output into template text and restored user strings. Throws {@link ChatTemplateError}
   * when the template cut into a placeholder (sliced or replaced a message string), which cannot be undone.
   */
  split(rendered: string): RenderedPiece[] {
    const pieces: RenderedPiece[] = [];
    let start = 0;
    for (const match of rendered.matchAll(PLACEHOLDER)) {
      pieces.push(this.templatePiece(rendered.slice(start, match.index)));
      pieces.push({ type: 'user', text: this.restore(match) });
      start = match.index + match[0].length;
    }
    pieces.push(this.templatePiece(rendered.slice(start)));
    return pieces.filter((piece) => piece.text !== '');
  }

  /** `text` with each placeholder replaced by its string, for error messages (e.g. from `raise_exception`). */
  reveal(text: string): string {
    return text.replace(PLACEHOLDER, (...match) => this.strings[Number(match[2])]?.core ?? match[0]);
  }

  private restore(match: RegExpMatchArray): string {
    const hidden = this.strings[Number(match[2])];
    if (hidden === undefined) throw cutPlaceholder();
    return (match[1] ? hidden.lead : '') + hidden.core + (match[3] ? hidden.trail : '');
  }

  private templatePiece(text: string): RenderedPiece {
    if (text.includes(OPEN) || text.includes(CLOSE)) throw cutPlaceholder();
    return { type: 'template', text };
  }

  private hideValue(value: unknown, path: string, depth: number): unknown {
    if (typeof value === 'string') return this.hide(value);
    if (value == null || typeof value === 'number' || typeof value === 'boolean') return value;
    if (depth >= MAX_DEPTH) throw notJson(path, `is nested more than ${MAX_DEPTH} levels deep (a cycle?)`);
    if (Array.isArray(value)) return value.map((item, index) => this.hideValue(item, `${path}[${index}]`, depth + 1));
    if (!isPlainObject(value)) throw notJson(path, `is ${describeValue(value)}`);
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [fieldName(key, path), this.hideValue(item, `${path}.${key}`, depth + 1)]));
  }
}

/**
 * Field names reach the template as they are (it looks fields up by name), so they must be plain
 * identifiers: a name like '</s>' could otherwise be rendered by `items()` or `tojson`.
 */
function fieldName(key: string, path: string): string {
  if (FIELD_NAME.test(key)) return key;
  throw new InvalidArgumentError({
    argument: path,
    message: `${path} has a field named ${describeValue(key)}; field names in messages must be identifiers (letters, digits, _ and -).`,
    hint: 'Rename the field, or put the data in a string value.',
  });
}

function notJson(path: string, problem: string): InvalidArgumentError {
  return new InvalidArgumentError({
    argument: path,
    message: `${path} ${problem}; chat messages may hold only JSON data (strings, numbers, booleans, null, arrays, plain objects).`,
    hint: 'Convert the value to a string or plain data before building the prompt.',
  });
}

function cutPlaceholder(): ChatTemplateError {
  return new ChatTemplateError({
    message:
      'The chat template cut into a message string (sliced, replaced or reversed it). Message strings are opaque ' +
      'while the template renders, so they cannot inject special tokens; they can only be output whole.',
    hint: 'Output message fields whole ({{ message.content }}; trim and strip work), or build the prompt with buildLlavaPrompt().',
  });
}
