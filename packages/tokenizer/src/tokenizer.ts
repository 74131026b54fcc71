import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { ConfigError, describeValue, InvalidArgumentError, TokenTypeCode } from '@msd/core';
import { EmptyPromptError, MissingImageTokenError, UnknownSpecialTokenError } from './errors';
import type { EncodedPrompt, PromptSegment } from './prompt-segment';
import { keepByteOrderMarks } from './byte-order-mark-fix';
import { checkPromptLength } from './prompt-length-limit';
import { SpecialTokenSplitter } from './special-token-splitter';
// package.json `imports` maps this to the node:fs reader, or, under the `browser` condition, to a stand-in that
// throws: the class is the same code in both builds and the browser bundle holds no node: import.
import { readTokenizerFiles } from '#tokenizer-directory';
import { tokenContent, validateTokenizerFiles, type AddedTokenJson, type TokenizerFiles } from './tokenizer-files';
import { fetchTokenizerFiles, type FetchTokenizerFilesOptions } from './tokenizer-url';

/**
 * Options for loading a {@link Tokenizer}.
 *
 * @example
 * ```ts
 * const tokenizer = await Tokenizer.fromDirectory('model', { imageToken: '<image>' });
 * ```
 */
export interface LoadTokenizerOptions {
  /**
   * The image placeholder token. Default: `image_token` from tokenizer_config.json, else `<image>` when the
   * tokenizer has it.
   */
  imageToken?: string;
}

/**
 * Options of {@link Tokenizer.fromUrl}: how to load the tokenizer, and how to fetch its files.
 *
 * @example
 * ```ts
 * const tokenizer = await Tokenizer.fromUrl('/models/tiny-llava/', { signal: AbortSignal.timeout(30_000) });
 * ```
 */
export interface LoadTokenizerFromUrlOptions extends LoadTokenizerOptions, FetchTokenizerFilesOptions {}

/**
 * Options of {@link Tokenizer.encodePrompt}.
 *
 * @example
 * ```ts
 * tokenizer.encodePrompt(segments, { maxCharacters: 200_000 });
 * ```
 */
export interface EncodePromptOptions {
  /**
   * The most characters (UTF-16 code units, `string.length`) of text to tokenize; longer input throws
   * {@link PromptTooLongError} before any tokenizing. Default {@link DEFAULT_MAX_PROMPT_CHARACTERS}
   * (50,000); `Infinity` turns the check off.
   */
  maxCharacters?: number;
}

/**
 * Options of {@link Tokenizer.encode} and {@link Tokenizer.encodeTemplate}.
 *
 * @example
 * ```ts
 * tokenizer.encode('Hello', { addSpecialTokens: true }); // [bosId, ...]
 * tokenizer.encode(bookChapter, { maxCharacters: Infinity });
 * ```
 */
export interface EncodeOptions extends EncodePromptOptions {
  /** Add BOS/EOS as the tokenizer config says (`add_bos_token`, `add_eos_token`). Default `false`. */
  addSpecialTokens?: boolean;
}

/**
 * Options of {@link Tokenizer.decode}.
 *
 * @example
 * ```ts
 * tokenizer.decode(ids, { skipSpecialTokens: true });
 * ```
 */
export interface DecodeOptions {
  /** Leave out special tokens (`<s>`, `</s>`, `<image>`, ...). Default `false`. */
  skipSpecialTokens?: boolean;
  /**
   * Apply Hugging Face's `clean_up_tokenization_spaces` (turns " ," into ","; breaks exact round trips).
   * Default: the config's value, or `false` when the config does not say.
   */
  cleanUpTokenizationSpaces?: boolean;
}

/**
 * A Hugging Face tokenizer (`tokenizer.json` + `tokenizer_config.json`) with msd's safety rules:
 * user text is always encoded as plain text, so `<image>` or `<s>` typed by a user never becomes a
 * control or image token; only {@link Tokenizer.encodeTemplate} and `special`/`image` prompt segments do.
 *
 * @example
 * ```ts
 * import { Tokenizer } from '@msd/tokenizer';
 *
 * const tokenizer = await Tokenizer.fromDirectory('models/tiny-llava');
 * const ids = tokenizer.encode('Hello <image> world');   // no image token in here
 * console.log(tokenizer.decode(ids));                    // 'Hello <image> world'
 * ```
 */
export class Tokenizer {
  /** Where the files came from (directory or label), for messages. */
  readonly source: string | undefined;
  /** Beginning-of-sequence token, if the tokenizer has one. */
  readonly bosToken: string | undefined;
  /** End-of-sequence token, if the tokenizer has one. */
  readonly eosToken: string | undefined;
  /** Unknown token, if the tokenizer has one. */
  readonly unkToken: string | undefined;
  /** Padding token, if the tokenizer has one. */
  readonly padToken: string | undefined;
  /** Image placeholder token, when the tokenizer has one. */
  readonly imageToken: string | undefined;
  /** Whether `addSpecialTokens` prepends BOS. */
  readonly addBosToken: boolean;
  /** Whether `addSpecialTokens` appends EOS. */
  readonly addEosToken: boolean;
  /** The jinja chat template from tokenizer_config.json, if any. */
  readonly chatTemplate: string | undefined;
  /** Number of ids (vocabulary plus added tokens): every id is in `[0, vocabSize)`. */
  readonly vocabSize: number;
  /** The added tokens (special and not), as listed in tokenizer.json. */
  readonly addedTokens: readonly AddedTokenJson[];

  private readonly full: HfTokenizer;
  private readonly plain: HfTokenizer;
  /** `plain` for text that does not start the input: a `Metaspace` with `prepend_scheme: "first"` adds no `▁` there. */
  private readonly continuation: HfTokenizer;
  private readonly splitter: SpecialTokenSplitter;
  private readonly addedIds: Map<string, number>;
  private readonly specialIdSet: Set<number>;
  private readonly cleanUp: boolean;

  private constructor(files: TokenizerFiles, options: LoadTokenizerOptions) {
    validateTokenizerFiles(files);
    const { tokenizerJson, tokenizerConfig } = files;
    this.source = files.source;
    const added = tokenizerJson.added_tokens ?? [];
    this.addedTokens = added;
    this.addedIds = new Map(added.map((token) => [token.content, token.id]));
    this.specialIdSet = new Set(added.map((token) => token.id));
    this.splitter = new SpecialTokenSplitter(added);
    const libraryConfig = { ...tokenizerConfig, additional_special_tokens: [] };
    try {
      this.full = new HfTokenizer({ ...tokenizerJson, added_tokens: added }, libraryConfig);
      // The same tokenizer without added tokens: it cannot match special-token strings inside text.
      this.plain = new HfTokenizer({ ...tokenizerJson, added_tokens: [] }, libraryConfig);
      const continuationPreTokenizer = withoutFirstPrepend(tokenizerJson.pre_tokenizer);
      this.continuation =
        continuationPreTokenizer === tokenizerJson.pre_tokenizer
          ? this.plain
          : new HfTokenizer({ ...tokenizerJson, pre_tokenizer: continuationPreTokenizer, added_tokens: [] }, libraryConfig);
      keepByteOrderMarks(this.full.decoder);
    } catch (cause) {
      throw new ConfigError({
        path: files.source ? `${files.source}/tokenizer.json` : 'tokenizer.json',
        code: 'tokenizer_file_malformed',
        message: `@huggingface/tokenizers cannot load it: ${(cause as Error).message}`,
        hint: 'Re-export the tokenizer (python -m msd_training.tokenizer_export) or re-download the file.',
        cause,
      });
    }
    this.bosToken = tokenContent(tokenizerConfig.bos_token);
    this.eosToken = tokenContent(tokenizerConfig.eos_token);
    this.unkToken = tokenContent(tokenizerConfig.unk_token);
    this.padToken = tokenContent(tokenizerConfig.pad_token);
    const [templateBos, templateEos] = postProcessorSpecials(tokenizerJson.post_processor);
    this.addBosToken = tokenizerConfig.add_bos_token ?? (templateBos !== undefined && templateBos === this.bosToken);
    this.addEosToken = tokenizerConfig.add_eos_token ?? (templateEos !== undefined && templateEos === this.eosToken);
    this.cleanUp = tokenizerConfig.clean_up_tokenization_spaces ?? false;
    this.chatTemplate = pickChatTemplate(tokenizerConfig.chat_template);
    const requestedImage = options.imageToken ?? tokenContent(tokenizerConfig.image_token);
    if (requestedImage !== undefined && this.tokenToId(requestedImage) === undefined) {
      throw new MissingImageTokenError({ token: requestedImage, source: files.source });
    }
    this.imageToken = requestedImage ?? (this.tokenToId('<image>') !== undefined ? '<image>' : undefined);
    let size = 0;
    for (const id of this.full.get_vocab(true).values()) size = Math.max(size, id + 1);
    this.vocabSize = size;
  }

  /**
   * Loads `tokenizer.json` and `tokenizer_config.json` from a directory. Node only: the browser build throws an
   * `InvalidArgumentError` pointing to {@link Tokenizer.fromUrl} and {@link Tokenizer.fromJSON}.
   *
   * @example
   * ```ts
   * import { Tokenizer } from '@msd/tokenizer';
   *
   * const tokenizer = await Tokenizer.fromDirectory('packages/tokenizer/test/fixtures/sp-bpe');
   * ```
   */
  static async fromDirectory(directory: string, options: LoadTokenizerOptions = {}): Promise<Tokenizer> {
    return new Tokenizer(await readTokenizerFiles(directory), options);
  }

  /**
   * Fetches `tokenizer.json` and `tokenizer_config.json` (and a separate chat template, as
   * {@link Tokenizer.fromDirectory} reads one) from the folder at `baseUrl` and loads them; see
   * {@link fetchTokenizerFiles} for how the URLs are formed and the errors. Works in browsers and in Node.
   *
   * @example
   * ```ts
   * import { Tokenizer } from '@msd/tokenizer';
   *
   * const tokenizer = await Tokenizer.fromUrl('https://huggingface.co/llava-hf/llava-1.5-7b-hf/resolve/main/');
   * const ids = tokenizer.encode('Hello');
   * ```
   */
  static async fromUrl(baseUrl: string | URL, options: LoadTokenizerFromUrlOptions = {}): Promise<Tokenizer> {
    const { fetch, signal, ...loadOptions } = options;
    return new Tokenizer(await fetchTokenizerFiles(baseUrl, { fetch, signal }), loadOptions);
  }

  /**
   * Builds a tokenizer from already parsed files (e.g. fetched over HTTP or bundled).
   *
   * @example
   * ```ts
   * import { Tokenizer } from '@msd/tokenizer';
   *
   * const tokenizer = Tokenizer.fromJSON({ tokenizerJson, tokenizerConfig, source: 'bundle' });
   * ```
   */
  static fromJSON(files: TokenizerFiles, options: LoadTokenizerOptions = {}): Tokenizer {
    return new Tokenizer(files, options);
  }

  /**
   * Encodes user text. Special-token strings in it (`<s>`, `<image>`, ...) are tokenized as plain text,
   * so the result never holds a control or image token (besides BOS/EOS when `addSpecialTokens` is set).
   *
   * `decode(encode(text)) === text` for msd's SentencePiece-style tokenizers, with two exceptions: each lone
   * (unpaired) surrogate comes back as U+FFFD, and each U+2581 (`▁`, SentencePiece's space mark) comes back
   * as a space (see the README).
   *
   * Throws `InvalidArgumentError` when `text` is not a string and {@link PromptTooLongError} when it is longer
   * than `options.maxCharacters` (default {@link DEFAULT_MAX_PROMPT_CHARACTERS}).
   *
   * @example
   * ```ts
   * tokenizer.encode('What is <image>?').includes(tokenizer.imageTokenId!); // false
   * ```
   */
  encode(text: string, options: EncodeOptions = {}): number[] {
    checkString(text, 'text', 'encode');
    checkPromptLength(text.length, options?.maxCharacters);
    const ids = this.encodeText(text);
    return options?.addSpecialTokens ? this.withBosEos(ids) : ids;
  }

  /**
   * Encodes trusted template text: special-token strings in it become their tokens
   * (what Hugging Face's `encode` does). Never pass user text here; use {@link Tokenizer.encode}.
   * Throws like {@link Tokenizer.encode} for a non-string or too long text.
   *
   * @example
   * ```ts
   * tokenizer.encodeTemplate('<s>USER: hi'); // [bosId, ...ids of ' USER: hi']
   * ```
   */
  encodeTemplate(text: string, options: EncodeOptions = {}): number[] {
    checkString(text, 'text', 'encodeTemplate');
    checkPromptLength(text.length, options?.maxCharacters);
    const ids: number[] = [];
    let atStart = true;
    for (const piece of this.splitter.split(text)) {
      if (piece.type === 'special') ids.push(this.addedIds.get(piece.token) as number);
      else for (const id of this.encodeText(piece.text, atStart)) ids.push(id);
      atStart = false;
    }
    return options?.addSpecialTokens ? this.withBosEos(ids) : ids;
  }

  /**
   * Encodes a structured prompt. Adjacent text segments are joined and encoded as plain text (so special-token
   * strings in them, whole or split across segments, stay text); `special` segments become their token and
   * `image` segments one image placeholder id each. Positions are typed (`TokenTypeCode`): text, special, or
   * image.
   *
   * The text of all segments together is checked against `options.maxCharacters` (default
   * {@link DEFAULT_MAX_PROMPT_CHARACTERS}) before anything is tokenized: {@link PromptTooLongError}.
   * Throws `InvalidArgumentError` for segments that are not an array of text/special/image segments,
   * {@link UnknownSpecialTokenError}, {@link MissingImageTokenError} or {@link EmptyPromptError}.
   *
   * @example
   * ```ts
   * const prompt = tokenizer.encodePrompt(buildLlavaPrompt([{ role: 'user', content: [{ type: 'image' }, { type: 'text', text: 'Hi' }] }]));
   * ```
   */
  encodePrompt(segments: readonly PromptSegment[], options: EncodePromptOptions = {}): EncodedPrompt {
    checkPromptLength(promptTextLength(segments), options?.maxCharacters);
    const ids: number[] = [];
    const types: number[] = [];
    let text = '';
    const flushText = () => {
      // Text is at the start of the input only when no special or image token came before it.
      for (const id of this.encodeText(text, ids.length === 0)) {
        ids.push(id);
        types.push(TokenTypeCode.text);
      }
      text = '';
    };
    for (const segment of segments) {
      if (segment.type === 'text') {
        text += segment.text;
        continue;
      }
      flushText();
      if (segment.type === 'special') {
        ids.push(this.specialTokenId(segment.token));
        types.push(TokenTypeCode.special);
      } else {
        ids.push(this.requireImageTokenId());
        types.push(TokenTypeCode.image);
      }
    }
    flushText();
    if (ids.length === 0) throw new EmptyPromptError({ message: 'The prompt encodes to no tokens.' });
    return { ids, types: Uint8Array.from(types) };
  }

  /**
   * Decodes ids to text. The inverse of {@link Tokenizer.encode} for SentencePiece-style tokenizers, except
   * that text holding lone surrogates or U+2581 (`▁`) comes back with U+FFFD and spaces in their place;
   * `decode([])` is `''`. Throws `InvalidArgumentError` when `ids` is not an array (or typed array) of
   * integer ids in `[0, vocabSize)`.
   *
   * @example
   * ```ts
   * tokenizer.decode(tokenizer.encode(' two  spaces\n')); // ' two  spaces\n'
   * ```
   */
  decode(ids: ArrayLike<number>, options: DecodeOptions = {}): string {
    const list = idList(ids);
    list.forEach((id, index) => this.checkId(id, index));
    const checked = list as number[];
    const kept = options?.skipSpecialTokens ? checked.filter((id) => !this.specialIdSet.has(id)) : checked;
    if (kept.length === 0) return '';
    return this.full.decode(kept, {
      skip_special_tokens: false,
      clean_up_tokenization_spaces: options?.cleanUpTokenizationSpaces ?? this.cleanUp,
    });
  }

  /**
   * The id of a token string (vocabulary piece or added token), or `undefined`.
   *
   * @example
   * ```ts
   * tokenizer.tokenToId('<s>'); // 1
   * ```
   */
  tokenToId(token: string): number | undefined {
    return this.addedIds.get(token) ?? this.full.token_to_id(token);
  }

  /**
   * The token string of an id, or `undefined`.
   *
   * @example
   * ```ts
   * tokenizer.idToToken(1); // '<s>'
   * ```
   */
  idToToken(id: number): string | undefined {
    return this.full.id_to_token(id);
  }

  /**
   * True for ids of added tokens (`<s>`, `</s>`, `<unk>`, `<image>`, ...).
   *
   * @example
   * ```ts
   * tokenizer.isSpecialId(tokenizer.bosTokenId!); // true
   * ```
   */
  isSpecialId(id: number): boolean {
    return this.specialIdSet.has(id);
  }

  /**
   * The id of an added/special token; throws {@link UnknownSpecialTokenError} for anything else.
   *
   * @example
   * ```ts
   * tokenizer.specialTokenId('</s>'); // 2
   * ```
   */
  specialTokenId(token: string): number {
    const id = this.addedIds.get(token);
    if (id === undefined) throw new UnknownSpecialTokenError({ token, known: [...this.addedIds.keys()] });
    return id;
  }

  /** Id of {@link Tokenizer.bosToken}, if any. */
  get bosTokenId(): number | undefined {
    return this.bosToken === undefined ? undefined : this.tokenToId(this.bosToken);
  }

  /** Id of {@link Tokenizer.eosToken}, if any. */
  get eosTokenId(): number | undefined {
    return this.eosToken === undefined ? undefined : this.tokenToId(this.eosToken);
  }

  /** Id of {@link Tokenizer.padToken}, if any. */
  get padTokenId(): number | undefined {
    return this.padToken === undefined ? undefined : this.tokenToId(this.padToken);
  }

  /** Id of {@link Tokenizer.imageToken}, if the tokenizer has one. */
  get imageTokenId(): number | undefined {
    return this.imageToken === undefined ? undefined : this.tokenToId(this.imageToken);
  }

  /**
   * The image placeholder id; throws {@link MissingImageTokenError} when the tokenizer has none.
   *
   * @example
   * ```ts
   * const imageId = tokenizer.requireImageTokenId();
   * ```
   */
  requireImageTokenId(): number {
    const id = this.imageTokenId;
    if (id === undefined) throw new MissingImageTokenError({ token: this.imageToken ?? '<image>', source: this.source });
    return id;
  }

  private withBosEos(ids: number[]): number[] {
    const bos = this.addBosToken ? this.bosTokenId : undefined;
    const eos = this.addEosToken ? this.eosTokenId : undefined;
    return [...(bos === undefined ? [] : [bos]), ...ids, ...(eos === undefined ? [] : [eos])];
  }

  /**
   * Plain-text encoding, no checks: callers have checked the type and the length limit. `atStart` says
   * whether the text begins the whole input: Hugging Face's `Metaspace` with `prepend_scheme: "first"`
   * prepends `▁` only to the piece at offset 0, not to text after a special or image token.
   */
  private encodeText(text: string, atStart = true): number[] {
    if (text === '') return [];
    return (atStart ? this.plain : this.continuation).encode(text, { add_special_tokens: false }).ids;
  }

  private checkId(id: unknown, index: number): void {
    if (typeof id === 'number' && Number.isInteger(id) && id >= 0 && id < this.vocabSize && this.full.id_to_token(id) !== undefined) {
      return;
    }
    throw new InvalidArgumentError({
      argument: 'ids',
      message: `Token id ${describeValue(id)} at ids[${index}] is not in the vocabulary (ids are integers in [0, ${this.vocabSize})).`,
      hint: 'Decode only ids this tokenizer produced (encode, or the output of the model it belongs to).',
    });
  }
}

function checkString(value: unknown, argument: string, method: string): asserts value is string {
  if (typeof value === 'string') return;
  throw new InvalidArgumentError({
    argument,
    message: `tokenizer.${method}() takes a string, got ${describeValue(value)}.`,
    hint: 'Pass the text as a string (convert other values with String(value) first, if that is what you mean).',
  });
}

/** The ids of an array, typed array or other array-like object, as a plain array; anything else (null, a string) throws. */
function idList(ids: unknown): unknown[] {
  if (Array.isArray(ids)) return ids;
  const length = typeof ids === 'object' && ids !== null && !(ids instanceof DataView) ? (ids as { length?: unknown }).length : undefined;
  if (typeof length === 'number' && Number.isSafeInteger(length) && length >= 0) return Array.from(ids as ArrayLike<unknown>);
  throw new InvalidArgumentError({
    argument: 'ids',
    message: `tokenizer.decode() takes an array of token ids, got ${describeValue(ids)}.`,
    hint: 'Pass e.g. tokenizer.decode([1, 15043]) or a typed array of ids.',
  });
}

/**
 * Characters of text in a prompt, checking every segment's shape on the way (an unknown segment type must
 * not fall through to become an image placeholder).
 */
function promptTextLength(segments: readonly PromptSegment[]): number {
  if (!Array.isArray(segments)) throw invalidSegment('segments', `segments must be an array, got ${describeValue(segments)}.`);
  let length = 0;
  segments.forEach((segment: unknown, index) => {
    length += segmentTextLength(segment, `segments[${index}]`);
  });
  return length;
}

function segmentTextLength(segment: unknown, path: string): number {
  if (typeof segment !== 'object' || segment === null) {
    throw invalidSegment(path, `${path} must be an object, got ${describeValue(segment)}.`);
  }
  const { type, text, token } = segment as { type?: unknown; text?: unknown; token?: unknown };
  if (type === 'image') return 0;
  if (type === 'text') {
    if (typeof text === 'string') return text.length;
    throw invalidSegment(`${path}.text`, `${path} is a text segment, so its text must be a string, got ${describeValue(text)}.`);
  }
  if (type === 'special') {
    if (typeof token === 'string') return 0;
    throw invalidSegment(`${path}.token`, `${path} is a special segment, so its token must be a string, got ${describeValue(token)}.`);
  }
  throw invalidSegment(`${path}.type`, `Unknown segment type ${describeValue(type)} at ${path}; use 'text', 'special' or 'image'.`);
}

function invalidSegment(argument: string, message: string): InvalidArgumentError {
  return new InvalidArgumentError({
    argument,
    message,
    hint: "Segments look like { type: 'text', text: '...' }, { type: 'special', token: '<s>' } or { type: 'image' }.",
  });
}

function pickChatTemplate(template: string | Array<{ name: string; template: string }> | undefined): string | undefined {
  if (typeof template === 'string') return template;
  if (Array.isArray(template)) {
    return (template.find((entry) => entry?.name === 'default') ?? template[0])?.template;
  }
  return undefined;
}

/** BOS/EOS a `TemplateProcessing` post-processor adds around a single sequence. */
function postProcessorSpecials(postProcessor: unknown): [string | undefined, string | undefined] {
  const single = (postProcessor as { type?: string; single?: unknown[] } | null)?.single;
  if ((postProcessor as { type?: string } | null)?.type !== 'TemplateProcessing' || !Array.isArray(single)) {
    return [undefined, undefined];
  }
  const special = (item: unknown) => (item as { SpecialToken?: { id?: string } } | undefined)?.SpecialToken?.id;
  return [special(single[0]), special(single[single.length - 1])];
}

/**
 * The pre-tokenizer with every `Metaspace` of `prepend_scheme: "first"` set to `"never"`, for text that
 * does not begin the input; the same object when there is none.
 */
function withoutFirstPrepend(preTokenizer: unknown): unknown {
  if (preTokenizer === null || typeof preTokenizer !== 'object') return preTokenizer;
  const node = preTokenizer as { type?: string; prepend_scheme?: string; pretokenizers?: unknown[] };
  if (node.type === 'Metaspace' && node.prepend_scheme === 'first') return { ...node, prepend_scheme: 'never' };
  if (node.type === 'Sequence' && Array.isArray(node.pretokenizers)) {
    const children = node.pretokenizers.map(withoutFirstPrepend);
    return children.every((child, index) => child === node.pretokenizers![index]) ? preTokenizer : { ...node, pretokenizers: children };
  }
  return preTokenizer;
}
