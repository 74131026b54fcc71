import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError } from '@msd/core';

/**
 * One entry of `tokenizer.json`'s `added_tokens`.
 *
 * @example
 * ```ts
 * const image: AddedTokenJson = { id: 32000, content: '<image>', special: true, normalized: false };
 * ```
 */
export interface AddedTokenJson {
  /** The token's id in the vocabulary. */
  id: number;
  /** The token's exact string, e.g. `<image>` or `</s>`; must not be empty. */
  content: string;
  /** Hugging Face flag: match the token only as a whole word, not inside a longer word. */
  single_word?: boolean;
  /** Hugging Face flag: the token also consumes the whitespace on its left. */
  lstrip?: boolean;
  /** Hugging Face flag: the token also consumes the whitespace on its right. */
  rstrip?: boolean;
  /** Hugging Face flag: match the token against the normalized text rather than the raw input. */
  normalized?: boolean;
  /**
   * Hugging Face's special-token flag. msd treats every added token as special whatever this says: it is
   * tagged `special` in prompts and dropped by `decode` with `skipSpecialTokens`.
   */
  special?: boolean;
}

/**
 * The parts of a Hugging Face `tokenizer.json` msd reads itself (the rest goes to `@huggingface/tokenizers`).
 *
 * @example
 * ```ts
 * const tokenizerJson = JSON.parse(readFileSync('model/tokenizer.json', 'utf8')) as TokenizerJson;
 * ```
 */
export interface TokenizerJson {
  /** Tokens matched before the model tokenizes (special tokens, `<image>`); absent: none. */
  added_tokens?: AddedTokenJson[];
  /** The tokenization model; passed to `@huggingface/tokenizers`, which reads the fields not listed here. */
  model: {
    /** The model kind, e.g. `BPE`. */
    type?: string;
    /** Token strings and their ids (an object for BPE, a list for Unigram); required. */
    vocab: Record<string, number> | unknown;
    [key: string]: unknown;
  };
  /**
   * The post-processor; a `TemplateProcessing` one tells which BOS/EOS tokens wrap a sequence when
   * `tokenizer_config.json` sets no `add_bos_token`/`add_eos_token`.
   */
  post_processor?: unknown;
  [key: string]: unknown;
}

/**
 * A token in `tokenizer_config.json`: a string or an AddedToken-like object.
 *
 * @example
 * ```ts
 * const bos: ConfigToken = { content: '<s>', lstrip: false };
 * ```
 */
export type ConfigToken = string | { content: string; [key: string]: unknown } | null;

/**
 * The parts of a Hugging Face `tokenizer_config.json` msd reads.
 *
 * @example
 * ```ts
 * const config: TokenizerConfigJson = { bos_token: '<s>', eos_token: '</s>', add_bos_token: true };
 * ```
 */
export interface TokenizerConfigJson {
  /** Beginning-of-sequence token, e.g. `<s>`; the chat template's `bos_token`. */
  bos_token?: ConfigToken;
  /** End-of-sequence token, e.g. `</s>`; its id is the tokenizer's `eosTokenId`, where generation stops. */
  eos_token?: ConfigToken;
  /** Token for unknown input, e.g. `<unk>`; the chat template's `unk_token`. */
  unk_token?: ConfigToken;
  /** Padding token, e.g. `<pad>`; the chat template's `pad_token`. */
  pad_token?: ConfigToken;
  /** The image placeholder token, e.g. `<image>`; absent: `<image>` when the vocabulary has it. */
  image_token?: ConfigToken;
  /** Whether encoding with `addSpecialTokens` prepends BOS; absent: whether `post_processor` adds it. */
  add_bos_token?: boolean;
  /** Whether encoding with `addSpecialTokens` appends EOS; absent: whether `post_processor` adds it. */
  add_eos_token?: boolean;
  /** Whether `decode` removes spaces before punctuation (" ," becomes ","); default `false`. */
  clean_up_tokenization_spaces?: boolean;
  /**
   * Hugging Face's list of extra special tokens; msd does not read it (every entry of `tokenizer.json`'s
   * `added_tokens` is already special to it).
   */
  additional_special_tokens?: ConfigToken[];
  /**
   * The jinja chat template `applyChatTemplate` renders: one string, or named templates of which the one
   * named `default` (else the first) is used; absent, `readTokenizerFiles` looks in `chat_template.jinja`/`.json` beside it.
   */
  chat_template?: string | Array<{ name: string; template: string }>;
  [key: string]: unknown;
}

/**
 * The two files a tokenizer is made of, parsed, plus where they came from (for error messages).
 *
 * @example
 * ```ts
 * const files: TokenizerFiles = { tokenizerJson, tokenizerConfig, source: 'bundled model' };
 * const tokenizer = Tokenizer.fromJSON(files);
 * ```
 */
export interface TokenizerFiles {
  /** Parsed `tokenizer.json`: vocabulary, merges, added tokens. */
  tokenizerJson: TokenizerJson;
  /** Parsed `tokenizer_config.json`: special tokens, BOS/EOS policy, chat template. */
  tokenizerConfig: TokenizerConfigJson;
  /** Directory or label the files came from; used in error messages. */
  source?: string;
}

/**
 * Reads and parses `tokenizer.json` and `tokenizer_config.json` from a directory. When
 * tokenizer_config.json has no `chat_template`, one is taken from `chat_template.jinja` or
 * `chat_template.json` beside it (where transformers >= 4.43 saves a processor's template).
 *
 * Throws a `ConfigError` (`tokenizer_file_missing` or `tokenizer_file_malformed`) naming the file.
 *
 * @example
 * ```ts
 * import { readTokenizerFiles } from '@msd/tokenizer';
 *
 * const files = await readTokenizerFiles('models/tiny-llava');
 * console.log(Object.keys(files.tokenizerJson.model));
 * ```
 */
export async function readTokenizerFiles(directory: string): Promise<TokenizerFiles> {
  const tokenizerJson = await readJsonFile(join(directory, 'tokenizer.json'));
  const tokenizerConfig = (await readJsonFile(join(directory, 'tokenizer_config.json'))) as TokenizerConfigJson;
  if (isObject(tokenizerConfig) && tokenizerConfig.chat_template == null) {
    const template = await readSeparateChatTemplate(directory);
    if (template !== undefined) tokenizerConfig.chat_template = template;
  }
  return {
    tokenizerJson: tokenizerJson as TokenizerJson,
    tokenizerConfig,
    source: directory,
  };
}

/**
 * transformers >= 4.43 saves a processor's template beside the tokenizer rather than in
 * tokenizer_config.json: `chat_template.jinja` (the raw template, transformers 5) or
 * `chat_template.json` (`{"chat_template": "..."}`); llava-hf repositories carry one of them.
 */
async function readSeparateChatTemplate(directory: string): Promise<string | undefined> {
  const jinja = await readOptionalText(join(directory, 'chat_template.jinja'));
  if (jinja !== undefined) return jinja;
  const jsonPath = join(directory, 'chat_template.json');
  const text = await readOptionalText(jsonPath);
  if (text === undefined) return undefined;
  const parsed = parseJsonText(jsonPath, text);
  if (!isObject(parsed) || typeof parsed.chat_template !== 'string') {
    throw new ConfigError({
      path: jsonPath,
      code: 'tokenizer_file_malformed',
      message: 'expected {"chat_template": "<jinja template>"}.',
      hint: 'Re-download the file, or put the template in tokenizer_config.json under "chat_template".',
    });
  }
  return parsed.chat_template;
}

async function readOptionalText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ConfigError({
      path,
      code: 'tokenizer_file_missing',
      message: `cannot read the file (${(cause as NodeJS.ErrnoException).code ?? String(cause)}).`,
      hint: 'Check the file permissions.',
      cause,
    });
  }
}

async function readJsonFile(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new ConfigError({
      path,
      code: 'tokenizer_file_missing',
      message: `cannot read the file (${(cause as NodeJS.ErrnoException).code ?? String(cause)}).`,
      hint:
        'A tokenizer directory needs tokenizer.json and tokenizer_config.json: copy them from the model repository ' +
        'or export them with `python -m msd_training.tokenizer_export`.',
      cause,
    });
  }
  return parseJsonText(path, text);
}

function parseJsonText(path: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new ConfigError({
      path,
      code: 'tokenizer_file_malformed',
      message: `not valid JSON (${(cause as Error).message}).`,
      hint: 'Re-export or re-download the file.',
      cause,
    });
  }
}

/**
 * Checks the shape of parsed tokenizer files and throws a `ConfigError` naming the file and the field.
 *
 * @example
 * ```ts
 * import { validateTokenizerFiles } from '@msd/tokenizer';
 *
 * validateTokenizerFiles({ tokenizerJson, tokenizerConfig, source: 'in-memory' });
 * ```
 */
export function validateTokenizerFiles(files: TokenizerFiles): void {
  const jsonPath = label(files.source, 'tokenizer.json');
  const configPath = label(files.source, 'tokenizer_config.json');
  const malformed = (path: string, message: string) =>
    new ConfigError({
      path,
      code: 'tokenizer_file_malformed',
      message,
      hint: 'Re-export the tokenizer (python -m msd_training.tokenizer_export) or re-download the file.',
    });
  const { tokenizerJson, tokenizerConfig } = files;
  if (!isObject(tokenizerJson)) throw malformed(jsonPath, 'expected a JSON object.');
  if (!isObject(tokenizerJson.model)) throw malformed(jsonPath, '"model" is missing or not an object.');
  if (!isObject(tokenizerJson.model.vocab) && !Array.isArray(tokenizerJson.model.vocab)) {
    throw malformed(jsonPath, '"model.vocab" is missing.');
  }
  const added = tokenizerJson.added_tokens ?? [];
  if (!Array.isArray(added)) throw malformed(jsonPath, '"added_tokens" must be an array.');
  for (const [index, token] of added.entries()) {
    if (!isObject(token) || typeof token.content !== 'string' || token.content === '' || !Number.isInteger(token.id)) {
      throw malformed(jsonPath, `added_tokens[${index}] needs an integer "id" and a non-empty string "content".`);
    }
  }
  if (!isObject(tokenizerConfig)) throw malformed(configPath, 'expected a JSON object.');
  for (const key of ['bos_token', 'eos_token', 'unk_token', 'pad_token', 'image_token'] as const) {
    const value = tokenizerConfig[key];
    if (value != null && tokenContent(value) === undefined) {
      throw malformed(configPath, `"${key}" must be a string or an object with "content".`);
    }
  }
  const template = tokenizerConfig.chat_template;
  if (template != null && typeof template !== 'string' && !Array.isArray(template)) {
    throw malformed(configPath, '"chat_template" must be a string or a list of {name, template}.');
  }
}

/** The string of a config token (`"<s>"` or `{ content: "<s>" }`). */
export function tokenContent(token: ConfigToken | undefined): string | undefined {
  if (typeof token === 'string') return token;
  if (isObject(token) && typeof token.content === 'string') return token.content;
  return undefined;
}

function label(source: string | undefined, file: string): string {
  return source ? join(source, file) : file;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
