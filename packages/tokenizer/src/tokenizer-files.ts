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
   * named `default` (else the first) is used; absent, `Tokenizer.fromDirectory` and `Tokenizer.fromUrl` look in `chat_template.jinja`/`.json` beside it.
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
 * Where {@link readTokenizerFilesWith} gets the files' text from: a directory on disk (Node), a base URL, or
 * any other store of a model's files. Each method throws a `ConfigError` (`tokenizer_file_missing`) naming
 * the file when it cannot be read.
 *
 * @example
 * ```ts
 * import type { TokenizerFileReader } from '@msd/tokenizer';
 *
 * const files = new Map([['tokenizer.json', '{...}'], ['tokenizer_config.json', '{...}']]);
 * const reader: TokenizerFileReader = {
 *   location: (name) => `memory:${name}`,
 *   read: async (name) => files.get(name)!,
 *   readOptional: async (name) => files.get(name),
 * };
 * ```
 */
export interface TokenizerFileReader {
  /** The path or URL of `name`, for messages and `ConfigError.path`. */
  location(name: string): string;
  /** The text of a file that must exist. */
  read(name: string): Promise<string>;
  /** The text of a file that may be absent: `undefined` when it does not exist. */
  readOptional(name: string): Promise<string | undefined>;
}

/** The hint for a missing tokenizer.json or tokenizer_config.json, wherever it was looked for. */
export const MISSING_TOKENIZER_FILE_HINT =
  'A tokenizer directory needs tokenizer.json and tokenizer_config.json: copy them from the model repository ' +
  'or export them with `python -m msd_training.tokenizer_export`.';

/**
 * Reads and parses `tokenizer.json` and `tokenizer_config.json` through `reader`, and, when the config has no
 * `chat_template`, `chat_template.jinja` or `chat_template.json` beside them (where transformers >= 4.43 saves a
 * processor's template). Filesystem and HTTP loading share this, so both apply the same rules in the same order;
 * a model loader with its own file store (progress, caching) passes its own reader.
 *
 * @example
 * ```ts
 * import { readTokenizerFilesWith, Tokenizer } from '@msd/tokenizer';
 *
 * const tokenizer = Tokenizer.fromJSON(await readTokenizerFilesWith(reader, 'memory'));
 * ```
 */
export async function readTokenizerFilesWith(reader: TokenizerFileReader, source: string): Promise<TokenizerFiles> {
  // Both requests go out at once (two round trips over HTTP become one); a failure of tokenizer.json is still the
  // one reported when both fail, as when they were read one after the other.
  const [jsonText, configText] = await Promise.allSettled([reader.read('tokenizer.json'), reader.read('tokenizer_config.json')]);
  const tokenizerJson = parseJsonText(reader.location('tokenizer.json'), settled(jsonText));
  const tokenizerConfig = parseJsonText(reader.location('tokenizer_config.json'), settled(configText)) as TokenizerConfigJson;
  if (isObject(tokenizerConfig) && tokenizerConfig.chat_template == null) {
    const template = await readSeparateChatTemplate(reader);
    if (template !== undefined) tokenizerConfig.chat_template = template;
  }
  return {
    tokenizerJson: tokenizerJson as TokenizerJson,
    tokenizerConfig,
    source,
  };
}

function settled<T>(result: PromiseSettledResult<T>): T {
  if (result.status === 'rejected') throw result.reason;
  return result.value;
}

/**
 * transformers >= 4.43 saves a processor's template beside the tokenizer rather than in
 * tokenizer_config.json: `chat_template.jinja` (the raw template, transformers 5) or
 * `chat_template.json` (`{"chat_template": "..."}`); llava-hf repositories carry one of them.
 */
async function readSeparateChatTemplate(reader: TokenizerFileReader): Promise<string | undefined> {
  const jinja = await reader.readOptional('chat_template.jinja');
  if (jinja !== undefined) return jinja;
  const text = await reader.readOptional('chat_template.json');
  if (text === undefined) return undefined;
  const jsonPath = reader.location('chat_template.json');
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

/**
 * `file` inside `source`, which may be a directory or a URL: node:path's `join` would turn `https://` into
 * `https:/`, and this module must not import node:path, as browsers load it.
 */
function label(source: string | undefined, file: string): string {
  return source ? `${source.replace(/[/\\]+$/, '')}/${file}` : file;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
