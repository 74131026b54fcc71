import { realpath, readFile, stat } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeValue } from '@msd/core';
import type { ChatMessage, ContentPart } from '@msd/tokenizer';
import type { GenerateOptions } from '../generate-options';
import { HttpError } from './http-error';

/** A chat completion request, checked and turned into what `MsdPipeline.stream` takes. */
export interface ChatRequest {
  /** The model name the client asked for (echoed back). */
  model: string;
  /** Stream server-sent events instead of one JSON answer. */
  stream: boolean;
  /** Send a last chunk with `usage` when streaming (`stream_options.include_usage`). */
  includeUsage: boolean;
  /** The generation: the conversation, its images as bytes, and the sampling settings. */
  generate: Omit<GenerateOptions, 'signal' | 'onToken'> & { messages: ChatMessage[]; images: Uint8Array[] };
}

/** What {@link parseChatRequest} checks a request against. */
export interface ChatRequestLimits {
  /** Images in one request. */
  maxImages: number;
  /** Encoded bytes of one image. */
  maxImageBytes: number;
  /** `max_tokens` when the request gives none. */
  defaultMaxTokens: number;
  /** A directory local images (`file:` URLs) may come from; undefined refuses them all. */
  allowImagesFrom: string | undefined;
}

/** Request fields msd cannot honour: refused, so a client is never silently given something else. */
const UNSUPPORTED_FIELDS: Record<string, string> = {
  tools: 'Tool calling is not supported.',
  tool_choice: 'Tool calling is not supported.',
  functions: 'Function calling is not supported.',
  function_call: 'Function calling is not supported.',
  logit_bias: 'logit_bias is not supported.',
  audio: 'Audio output is not supported.',
  prediction: 'Predicted outputs are not supported.',
};

const ROLES = new Set(['system', 'developer', 'user', 'assistant']);

function invalid(param: string, message: string, hint?: string): HttpError {
  return new HttpError({ status: 400, code: 'invalid_request', param, message, ...(hint ? { hint } : {}) });
}

function optionalNumber(body: Record<string, unknown>, field: string, check: (value: number) => boolean, rule: string): number | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !check(value)) throw invalid(field, `${field} must be ${rule}, got ${describeValue(value)}.`);
  return value;
}

/**
 * Checks an OpenAI Chat Completions request body and turns it into generation options. Cheap: no
 * image is decoded, nothing tokenized; data: URLs become bytes, local files are read only from the
 * allowed directory, remote URLs are refused (the server fetches nothing).
 *
 * @example
 * ```ts
 * import { parseChatRequest } from 'msd/serve';
 *
 * const request = await parseChatRequest(
 *   { model: 'tiny-llava', messages: [{ role: 'user', content: 'Hello' }], max_tokens: 16 },
 *   { maxImages: 16, maxImageBytes: 1 << 26, defaultMaxTokens: 256, allowImagesFrom: undefined },
 * );
 * request.generate.maxNewTokens; // 16
 * ```
 */
export async function parseChatRequest(body: unknown, limits: ChatRequestLimits): Promise<ChatRequest> {
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    throw invalid('body', `The request body must be a JSON object, got ${describeValue(body)}.`);
  const fields = body as Record<string, unknown>;
  for (const [field, reason] of Object.entries(UNSUPPORTED_FIELDS)) {
    if (fields[field] !== undefined && fields[field] !== null) throw invalid(field, reason);
  }
  const model = fields.model ?? '';
  if (typeof model !== 'string') throw invalid('model', `model must be a string, got ${describeValue(model)}.`);
  const n = optionalNumber(fields, 'n', Number.isInteger, 'an integer');
  if (n !== undefined && n !== 1) throw invalid('n', `n must be 1 (msd generates one choice per request), got ${n}.`);
  if (fields.logprobs === true) throw invalid('logprobs', 'logprobs are not supported.');
  for (const penalty of ['frequency_penalty', 'presence_penalty']) {
    const value = optionalNumber(fields, penalty, Number.isFinite, 'a number');
    if (value !== undefined && value !== 0) throw invalid(penalty, `${penalty} is not supported (only 0).`);
  }
  const format = fields.response_format as { type?: unknown } | undefined | null;
  if (format !== undefined && format !== null && format.type !== 'text')
    throw invalid('response_format', 'Only response_format { "type": "text" } is supported.');
  const stream = fields.stream ?? false;
  if (typeof stream !== 'boolean') throw invalid('stream', `stream must be true or false, got ${describeValue(stream)}.`);
  const streamOptions = fields.stream_options;
  if (streamOptions !== undefined && streamOptions !== null && (typeof streamOptions !== 'object' || Array.isArray(streamOptions))) {
    throw invalid('stream_options', 'stream_options must be an object.');
  }
  const includeUsage = (streamOptions as { include_usage?: unknown } | null | undefined)?.include_usage === true;

  const maxTokens =
    optionalNumber(fields, 'max_completion_tokens', (value) => Number.isInteger(value) && value >= 1, 'a positive integer') ??
    optionalNumber(fields, 'max_tokens', (value) => Number.isInteger(value) && value >= 1, 'a positive integer');
  const temperature = optionalNumber(fields, 'temperature', (value) => value >= 0 && value <= 2, 'a number from 0 to 2');
  const topP = optionalNumber(fields, 'top_p', (value) => value > 0 && value <= 1, 'a number in (0, 1]');
  const topK = optionalNumber(fields, 'top_k', (value) => Number.isInteger(value) && value >= 0, 'a non-negative integer');
  const seed = optionalNumber(fields, 'seed', Number.isSafeInteger, 'an integer');
  const speculative = fields.speculative;
  if (speculative !== undefined && typeof speculative !== 'boolean')
    throw invalid('speculative', `speculative must be true or false, got ${describeValue(speculative)}.`);
  const stopStrings = parseStop(fields.stop);
  const { messages, images } = await parseMessages(fields.messages, limits);
  return {
    model,
    stream,
    includeUsage,
    generate: {
      messages,
      images,
      maxNewTokens: maxTokens ?? limits.defaultMaxTokens,
      ...(temperature !== undefined ? { temperature } : {}),
      ...(topP !== undefined ? { topP } : {}),
      ...(topK !== undefined ? { topK } : {}),
      ...(seed !== undefined ? { seed } : {}),
      ...(stopStrings.length ? { stopStrings } : {}),
      ...(speculative !== undefined ? { speculative } : {}),
    },
  };
}

function parseStop(stop: unknown): string[] {
  if (stop === undefined || stop === null) return [];
  const list = typeof stop === 'string' ? [stop] : stop;
  if (!Array.isArray(list) || list.some((entry) => typeof entry !== 'string' || entry.length === 0)) {
    throw invalid('stop', 'stop must be a non-empty string or an array of up to 4 non-empty strings.');
  }
  if (list.length > 4) throw invalid('stop', `stop takes up to 4 strings, got ${list.length}.`);
  return list as string[];
}

async function parseMessages(value: unknown, limits: ChatRequestLimits): Promise<{ messages: ChatMessage[]; images: Uint8Array[] }> {
  if (!Array.isArray(value) || value.length === 0) throw invalid('messages', 'messages must be a non-empty array of { role, content }.');
  // Count the images first: a request over the limit is refused before any image is decoded or read.
  const imageCount = value.reduce(
    (count: number, message) =>
      count + (Array.isArray(message?.content) ? message.content.filter((part: { type?: unknown } | null) => part?.type === 'image_url').length : 0),
    0,
  );
  if (imageCount > limits.maxImages) {
    throw new HttpError({
      status: 400,
      code: 'too_many_images',
      param: 'messages',
      message: `The request has ${imageCount} images; this server takes at most ${limits.maxImages}.`,
    });
  }
  const messages: ChatMessage[] = [];
  const images: Uint8Array[] = [];
  for (const [index, message] of value.entries()) {
    const where = `messages[${index}]`;
    if (message === null || typeof message !== 'object') throw invalid(where, `${where} must be an object with role and content.`);
    const { role, content } = message as { role?: unknown; content?: unknown };
    if (typeof role !== 'string' || !ROLES.has(role))
      throw invalid(`${where}.role`, `${where}.role must be system, developer, user or assistant, got ${describeValue(role)}.`);
    // OpenAI's `developer` is the newer name of `system`.
    const chatRole = role === 'developer' ? 'system' : role;
    if (typeof content === 'string') {
      messages.push({ role: chatRole, content });
      continue;
    }
    if (!Array.isArray(content)) throw invalid(`${where}.content`, `${where}.content must be a string or an array of parts.`);
    const parts: ContentPart[] = [];
    for (const [partIndex, part] of content.entries()) {
      const partWhere = `${where}.content[${partIndex}]`;
      const type = (part as { type?: unknown } | null)?.type;
      if (type === 'text') {
        const text = (part as { text?: unknown }).text;
        if (typeof text !== 'string') throw invalid(`${partWhere}.text`, `${partWhere}.text must be a string.`);
        parts.push({ type: 'text', text });
      } else if (type === 'image_url') {
        if (chatRole !== 'user') throw invalid(partWhere, `Images go in user messages; ${where} is a ${role} message.`);
        const url = (part as { image_url?: { url?: unknown } | string }).image_url;
        const address = typeof url === 'string' ? url : url?.url;
        if (typeof address !== 'string' || !address) throw invalid(`${partWhere}.image_url.url`, `${partWhere}.image_url.url must be a data: URL.`);
        images.push(await readImage(address, `${partWhere}.image_url.url`, limits));
        parts.push({ type: 'image' });
      } else {
        throw invalid(
          `${partWhere}.type`,
          `${partWhere}.type must be text or image_url, got ${describeValue(type)}.`,
          'Audio and file parts are not supported.',
        );
      }
    }
    messages.push({ role: chatRole, content: parts });
  }
  return { messages, images };
}

/** The bytes of one image: a data: URL's payload, or a file inside the allowed directory. */
async function readImage(address: string, param: string, limits: ChatRequestLimits): Promise<Uint8Array> {
  if (address.startsWith('data:')) return decodeDataUrl(address, param, limits.maxImageBytes);
  if (/^https?:/i.test(address)) {
    throw new HttpError({
      status: 400,
      code: 'remote_image_refused',
      param,
      message: 'Remote image URLs are refused: this server fetches nothing.',
      hint: 'Send the image inline as a data: URL (data:image/png;base64,...).',
    });
  }
  if (!/^file:/i.test(address)) throw invalid(param, `Unsupported image URL scheme in '${address.slice(0, 40)}'.`, 'Send the image as a data: URL.');
  return readAllowedFile(address, param, limits);
}

function decodeDataUrl(address: string, param: string, maxBytes: number): Uint8Array {
  const comma = address.indexOf(',');
  const header = comma < 0 ? '' : address.slice(5, comma);
  if (comma < 0 || !/;base64$/i.test(header) || !/^image\//i.test(header)) {
    throw invalid(param, 'An image data: URL must look like data:image/<type>;base64,<data>.');
  }
  const payload = address.slice(comma + 1);
  // The decoded size is known from the length: refuse before decoding.
  const bytes = Math.floor((payload.length * 3) / 4);
  if (bytes > maxBytes) {
    throw new HttpError({
      status: 400,
      code: 'image_too_large',
      param,
      message: `The image is about ${bytes} bytes; this server takes at most ${maxBytes} per image.`,
    });
  }
  if (!/^[A-Za-z0-9+/\r\n]*={0,2}\s*$/.test(payload)) throw invalid(param, 'The data: URL is not valid base64.');
  return Buffer.from(payload, 'base64');
}

async function readAllowedFile(address: string, param: string, limits: ChatRequestLimits): Promise<Uint8Array> {
  const refused = new HttpError({
    status: 400,
    code: 'local_image_refused',
    param,
    message: limits.allowImagesFrom
      ? `Local images are read only from ${limits.allowImagesFrom}; this one is outside it or does not exist.`
      : 'Local image files are refused.',
    hint: limits.allowImagesFrom ? 'Send the image as a data: URL.' : 'Send the image as a data: URL, or start the server with --allow-images-from DIR.',
  });
  if (!limits.allowImagesFrom) throw refused;
  let path: string;
  try {
    path = fileURLToPath(address);
  } catch {
    throw invalid(param, 'The file: URL is malformed.');
  }
  // Symbolic links and `..` are resolved before the check, so neither can lead out of the directory.
  const real = await realpath(path).catch(() => undefined);
  const root = await realpath(limits.allowImagesFrom).catch(() => resolve(limits.allowImagesFrom!));
  const inside =
    real !== undefined &&
    (() => {
      const relation = relative(root, real);
      return relation !== '' && !relation.startsWith(`..${sep}`) && relation !== '..' && !isAbsolute(relation);
    })();
  if (!inside) throw refused;
  const info = await stat(real!);
  if (!info.isFile()) throw refused;
  if (info.size > limits.maxImageBytes) {
    throw new HttpError({
      status: 400,
      code: 'image_too_large',
      param,
      message: `The image is ${info.size} bytes; this server takes at most ${limits.maxImageBytes} per image.`,
    });
  }
  return readFile(real!);
}
