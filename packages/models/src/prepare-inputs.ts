import { TokenTypeCode, type TokenTypeTags } from '@msd/core';
import {
  applyChatTemplate,
  buildLlavaPrompt,
  expandImagePlaceholders,
  type ChatMessage,
  type EncodedPrompt,
  type LlavaPromptOptions,
  type PromptSegment,
  type Tokenizer,
} from '@msd/tokenizer';
import type { ImageInput, ImagePreprocessor, ImageTensor } from '@msd/vision';

/** Options of {@link prepareInputs}. */
export interface PrepareInputsOptions {
  /** The model's tokenizer. */
  tokenizer: Tokenizer;
  /** The model's image preprocessor; required when the messages hold images. */
  preprocessor?: ImagePreprocessor;
  /** Positions each image occupies in the language model (from the model's config). */
  imageTokensPerImage: number;
  /** The conversation; `{ type: 'image' }` parts mark where images go. */
  messages: readonly ChatMessage[];
  /** One image per image part, in order. */
  images?: readonly ImageInput[];
  /**
   * Build the LLaVA-1.5 format with these options (system prompt, generation prompt) instead of
   * rendering the tokenizer's chat template. Without them, the tokenizer's `chat_template` is used
   * when it has one, else the LLaVA-1.5 format.
   */
  prompt?: LlavaPromptOptions;
  /**
   * Called with the prompt's length in positions (images expanded) after tokenizing and before any
   * image is read, so a prompt that cannot fit the model fails before the expensive work.
   */
  checkPromptLength?: (positions: number) => void;
  /**
   * The most characters of prompt text the tokenizer takes (`encodePrompt`'s `maxCharacters`). Default the
   * tokenizer's (50,000); `MsdPipeline` passes `Infinity`, having checked the user's text against its own limit.
   */
  maxCharacters?: number;
  /** Stops image preprocessing (between images) with an `AbortError`. */
  signal?: AbortSignal;
}

/** What a vision-language model needs for its prefill. */
export interface PreparedInputs {
  /** Token ids with every image expanded to its image-token positions. */
  ids: Int32Array;
  /** Per-position token types, image and patch indices, image spans. */
  tags: TokenTypeTags;
  /** `[images, 3, H, W]` pixel values, or undefined for a text-only prompt. */
  pixelValues: ImageTensor | undefined;
}

/**
 * Builds the LLaVA prompt, expands and tags image positions, and preprocesses the images:
 * everything before the first model call.
 *
 * @example
 * ```ts
 * import { Tokenizer } from '@msd/tokenizer';
 * import { ImagePreprocessor } from '@msd/vision';
 * import { prepareInputs } from '@msd/models';
 *
 * const inputs = await prepareInputs({
 *   tokenizer: await Tokenizer.fromDirectory('model'),
 *   preprocessor: await ImagePreprocessor.load('model'),
 *   imageTokensPerImage: 144,
 *   messages: [{ role: 'user', content: [{ type: 'image' }, { type: 'text', text: 'What is shown?' }] }],
 *   images: ['photo.jpg'],
 * });
 * ```
 */
export async function prepareInputs(options: PrepareInputsOptions): Promise<PreparedInputs> {
  const images = options.images ?? [];
  const { tokenizer } = options;
  const segments = promptSegments(tokenizer, options.messages, options.prompt);
  const encoded = tokenizer.encodePrompt(segments, options.maxCharacters === undefined ? {} : { maxCharacters: options.maxCharacters });
  const expanded = expandImagePlaceholders(withPostProcessorBos(tokenizer, segments, encoded), {
    imageTokensPerImage: options.imageTokensPerImage,
    imageCount: images.length,
  });
  options.checkPromptLength?.(expanded.ids.length);
  let pixelValues: ImageTensor | undefined;
  if (images.length > 0) {
    if (!options.preprocessor) {
      const { InvalidArgumentError } = await import('@msd/core');
      throw new InvalidArgumentError({
        argument: 'preprocessor',
        message: `The prompt holds ${images.length} image(s) but no image preprocessor was given.`,
        hint: 'Pass `preprocessor: await ImagePreprocessor.load(modelDir)`.',
      });
    }
    pixelValues = await options.preprocessor.preprocessBatch(images, options.signal ? { signal: options.signal } : {});
  }
  return { ids: Int32Array.from(expanded.ids), tags: expanded.tags, pixelValues };
}

/** The model's own chat template when it has one (what transformers' processor renders), else LLaVA-1.5's. */
function promptSegments(tokenizer: Tokenizer, messages: readonly ChatMessage[], llava: LlavaPromptOptions | undefined): PromptSegment[] {
  if (llava !== undefined || tokenizer.chatTemplate === undefined) return buildLlavaPrompt(messages, llava);
  return applyChatTemplate(tokenizer, messages, { addGenerationPrompt: true });
}

/**
 * BOS as Hugging Face's post-processor adds it: when the tokenizer adds one (`add_bos_token`) and
 * the template did not write it. It goes on after encoding, so the first text still counts as the
 * start of the input (a `Metaspace` with `prepend_scheme: "first"` prepends `▁` there).
 */
function withPostProcessorBos(tokenizer: Tokenizer, segments: readonly PromptSegment[], encoded: EncodedPrompt): EncodedPrompt {
  const bos = tokenizer.bosTokenId;
  const first = segments[0];
  const written = first?.type === 'special' && first.token === tokenizer.bosToken;
  if (!tokenizer.addBosToken || bos === undefined || written) return encoded;
  return { ids: [bos, ...encoded.ids], types: Uint8Array.from([TokenTypeCode.special, ...encoded.types]) };
}
