import { MsdError } from '@msd/core';

const httpErrorMarker = 'msd.error.HttpError';
const httpErrorSymbol = Symbol.for(httpErrorMarker);

/** The `type` of OpenAI's error JSON, by kind of failure. */
export type OpenAiErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'not_found_error'
  | 'rate_limit_error'
  | 'server_error'
  | 'service_unavailable_error';

/**
 * An error `msd serve` answers with an HTTP status and OpenAI's error JSON
 * (`{ "error": { "message", "type", "param", "code" } }`).
 *
 * @example
 * ```ts
 * import { HttpError } from 'msd/serve';
 *
 * throw new HttpError({ status: 400, code: 'remote_image_refused', param: 'messages[0].content[1].image_url.url', message: 'Remote image URLs are refused.' });
 * ```
 */
export class HttpError extends MsdError {
  private readonly [httpErrorSymbol] = true;
  /** The HTTP status. */
  readonly status: number;
  /** OpenAI's error type for the status. */
  readonly type: OpenAiErrorType;
  /** The request field at fault, when one is. */
  readonly param: string | null;
  /** Extra response headers (`Retry-After`, `WWW-Authenticate`). */
  readonly headers: Record<string, string>;

  constructor(options: { status: number; code: string; message: string; hint?: string; param?: string; cause?: unknown; headers?: Record<string, string> }) {
    super(options);
    this.name = 'HttpError';
    this.status = options.status;
    this.type = errorTypeFor(options.status);
    this.param = options.param ?? null;
    this.headers = options.headers ?? {};
  }

  /** True when `error` is an {@link HttpError} from any installed copy of msd. */
  static override isInstance(error: unknown): error is HttpError {
    return MsdError.hasMarker(error, httpErrorMarker);
  }

  /** The response body: OpenAI's error JSON. */
  toJSON(): { error: { message: string; type: OpenAiErrorType; param: string | null; code: string } } {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

function errorTypeFor(status: number): OpenAiErrorType {
  if (status === 401) return 'authentication_error';
  if (status === 404) return 'not_found_error';
  if (status === 429) return 'rate_limit_error';
  if (status === 503) return 'service_unavailable_error';
  return status >= 500 ? 'server_error' : 'invalid_request_error';
}

/**
 * msd error codes that describe the request, not the server: answered with 400 rather than 500.
 * Everything else (a model file gone, a session failing) is the server's fault.
 */
const CLIENT_ERROR_CODES = new Set([
  'invalid_argument',
  'limit_exceeded',
  'too_many_images',
  'prompt_too_long',
  'context_too_long',
  'empty_prompt',
  'image_count_mismatch',
  'image_decode_failed',
  'image_source_unreadable',
  'image_too_large',
  'unsupported_image_format',
  'chat_template',
  'invalid_chat_message',
]);

/**
 * The HTTP error to answer for an error a generation threw: msd's request errors become 400 with
 * their code and message, anything else a 500 that does not leak internals.
 *
 * @example
 * ```ts
 * import { toHttpError } from 'msd/serve';
 *
 * toHttpError(new Error('boom')).status; // 500
 * ```
 */
export function toHttpError(error: unknown): HttpError {
  if (HttpError.isInstance(error)) return error;
  if (MsdError.isInstance(error)) {
    const clientError = CLIENT_ERROR_CODES.has(error.code) || error.name === 'InvalidArgumentError' || error.name === 'LimitExceededError';
    const argument = (error as { argument?: unknown }).argument;
    return new HttpError({
      status: clientError ? 400 : 500,
      code: error.code,
      message: error.message,
      ...(typeof argument === 'string' ? { param: argument } : {}),
      cause: error,
    });
  }
  return new HttpError({ status: 500, code: 'internal_error', message: 'The server failed while generating; see its log.', cause: error });
}
