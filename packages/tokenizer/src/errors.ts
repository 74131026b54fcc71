import { MsdError } from '@msd/core';

const imageCountMarker = 'msd.error.ImageCountMismatchError';
const imageCountSymbol = Symbol.for(imageCountMarker);

/**
 * A prompt holds a different number of image placeholders than the images passed with it.
 *
 * @example
 * ```ts
 * import { ImageCountMismatchError } from '@msd/tokenizer';
 *
 * try {
 *   expandImagePlaceholders(prompt, { imageTokensPerImage: 576, imageCount: 2 });
 * } catch (error) {
 *   if (ImageCountMismatchError.isInstance(error)) console.error(error.placeholders, error.images);
 * }
 * ```
 */
export class ImageCountMismatchError extends MsdError {
  private readonly [imageCountSymbol] = true;
  /** Image placeholders found in the prompt. */
  readonly placeholders: number;
  /** Images passed with the prompt. */
  readonly images: number;

  constructor(options: { placeholders: number; images: number }) {
    const { placeholders, images } = options;
    super({
      code: 'image_count_mismatch',
      message: `The prompt has ${placeholders} image placeholder(s) but ${images} image(s) were given.`,
      hint: 'Put exactly one image part ({ type: "image" }) in the messages for every image you pass.',
    });
    this.name = 'ImageCountMismatchError';
    this.placeholders = placeholders;
    this.images = images;
  }

  /** True when `error` is an {@link ImageCountMismatchError} from any installed copy of msd. */
  static override isInstance(error: unknown): error is ImageCountMismatchError {
    return MsdError.hasMarker(error, imageCountMarker);
  }
}

const unknownSpecialMarker = 'msd.error.UnknownSpecialTokenError';
const unknownSpecialSymbol = Symbol.for(unknownSpecialMarker);

/**
 * A prompt asked for a special token the tokenizer does not define.
 *
 * @example
 * ```ts
 * import { UnknownSpecialTokenError } from '@msd/tokenizer';
 *
 * try {
 *   tokenizer.encodePrompt([{ type: 'special', token: '<|im_start|>' }]);
 * } catch (error) {
 *   if (UnknownSpecialTokenError.isInstance(error)) console.error(error.token);
 * }
 * ```
 */
export class UnknownSpecialTokenError extends MsdError {
  private readonly [unknownSpecialSymbol] = true;
  /** The token that was asked for. */
  readonly token: string;

  constructor(options: { token: string; known: readonly string[] }) {
    super({
      code: 'unknown_special_token',
      message: `${JSON.stringify(options.token)} is not a special or added token of this tokenizer.`,
      hint: `Use one of: ${options.known.map((token) => JSON.stringify(token)).join(', ') || '(none)'}.`,
    });
    this.name = 'UnknownSpecialTokenError';
    this.token = options.token;
  }

  /** True when `error` is an {@link UnknownSpecialTokenError} from any installed copy of msd. */
  static override isInstance(error: unknown): error is UnknownSpecialTokenError {
    return MsdError.hasMarker(error, unknownSpecialMarker);
  }
}

const emptyPromptMarker = 'msd.error.EmptyPromptError';
const emptyPromptSymbol = Symbol.for(emptyPromptMarker);

/**
 * A prompt produced no tokens (no messages, or only empty text).
 *
 * @example
 * ```ts
 * import { EmptyPromptError } from '@msd/tokenizer';
 *
 * try {
 *   tokenizer.encodePrompt([]);
 * } catch (error) {
 *   if (EmptyPromptError.isInstance(error)) console.error(error.message);
 * }
 * ```
 */
export class EmptyPromptError extends MsdError {
  private readonly [emptyPromptSymbol] = true;

  constructor(options: { message?: string } = {}) {
    super({
      code: 'empty_prompt',
      message: options.message ?? 'The prompt is empty.',
      hint: 'Pass at least one message with text or an image.',
    });
    this.name = 'EmptyPromptError';
  }

  /** True when `error` is an {@link EmptyPromptError} from any installed copy of msd. */
  static override isInstance(error: unknown): error is EmptyPromptError {
    return MsdError.hasMarker(error, emptyPromptMarker);
  }
}

const missingImageTokenMarker = 'msd.error.MissingImageTokenError';
const missingImageTokenSymbol = Symbol.for(missingImageTokenMarker);

/**
 * The tokenizer has no image placeholder token, so image prompts cannot be encoded.
 *
 * @example
 * ```ts
 * import { MissingImageTokenError } from '@msd/tokenizer';
 *
 * try {
 *   tokenizer.encodePrompt([{ type: 'image' }]);
 * } catch (error) {
 *   if (MissingImageTokenError.isInstance(error)) console.error(error.token);
 * }
 * ```
 */
export class MissingImageTokenError extends MsdError {
  private readonly [missingImageTokenSymbol] = true;
  /** The image token that was looked for. */
  readonly token: string;

  constructor(options: { token: string; source?: string }) {
    const where = options.source ? `${options.source}: ` : '';
    super({
      code: 'missing_image_token',
      message: `${where}the image token ${JSON.stringify(options.token)} is not in the tokenizer's vocabulary.`,
      hint: 'Export the tokenizer with `--special "<image>"` (msd_training.tokenizer_export), ' + 'or pass the right imageToken when loading it.',
    });
    this.name = 'MissingImageTokenError';
    this.token = options.token;
  }

  /** True when `error` is a {@link MissingImageTokenError} from any installed copy of msd. */
  static override isInstance(error: unknown): error is MissingImageTokenError {
    return MsdError.hasMarker(error, missingImageTokenMarker);
  }
}

const chatTemplateMarker = 'msd.error.ChatTemplateError';
const chatTemplateSymbol = Symbol.for(chatTemplateMarker);

/**
 * The chat template is missing or failed to render.
 *
 * @example
 * ```ts
 * import { ChatTemplateError } from '@msd/tokenizer';
 *
 * try {
 *   applyChatTemplate(tokenizer, messages);
 * } catch (error) {
 *   if (ChatTemplateError.isInstance(error)) console.error(error.message);
 * }
 * ```
 */
export class ChatTemplateError extends MsdError {
  private readonly [chatTemplateSymbol] = true;

  constructor(options: { message: string; hint?: string; cause?: unknown }) {
    super({ code: 'chat_template', ...options });
    this.name = 'ChatTemplateError';
  }

  /** True when `error` is a {@link ChatTemplateError} from any installed copy of msd. */
  static override isInstance(error: unknown): error is ChatTemplateError {
    return MsdError.hasMarker(error, chatTemplateMarker);
  }
}

const promptTooLongMarker = 'msd.error.PromptTooLongError';
const promptTooLongSymbol = Symbol.for(promptTooLongMarker);

/**
 * A prompt is longer than the `maxCharacters` limit, checked before any tokenizing: tokenizing blocks the
 * event loop for about a second per 50,000-100,000 characters, so a huge prompt would stall the process.
 *
 * @example
 * ```ts
 * import { PromptTooLongError } from '@msd/tokenizer';
 *
 * try {
 *   tokenizer.encodePrompt(segments);
 * } catch (error) {
 *   if (PromptTooLongError.isInstance(error)) console.error(error.length, error.maxCharacters);
 * }
 * ```
 */
export class PromptTooLongError extends MsdError {
  private readonly [promptTooLongSymbol] = true;
  /** Characters (UTF-16 code units) of text in the prompt. */
  readonly length: number;
  /** The limit it went over. */
  readonly maxCharacters: number;

  constructor(options: { length: number; maxCharacters: number }) {
    const { length, maxCharacters } = options;
    super({
      code: 'prompt_too_long',
      message: `The prompt has ${length} characters of text, more than the limit of ${maxCharacters} (maxCharacters).`,
      hint:
        'Shorten the prompt, or raise the limit with the maxCharacters option ' +
        '(e.g. tokenizer.encodePrompt(segments, { maxCharacters: 200_000 }); Infinity turns the check off) ' +
        'if blocking the event loop for longer is acceptable.',
    });
    this.name = 'PromptTooLongError';
    this.length = length;
    this.maxCharacters = maxCharacters;
  }

  /** True when `error` is a {@link PromptTooLongError} from any installed copy of msd. */
  static override isInstance(error: unknown): error is PromptTooLongError {
    return MsdError.hasMarker(error, promptTooLongMarker);
  }
}
