import { MsdError } from '@msd/core';

const signatureMarker = 'msd.error.ModelSignatureError';
const signatureSymbol = Symbol.for(signatureMarker);

/**
 * An ONNX graph's inputs or outputs differ from what the model manifest declares.
 *
 * @example
 * ```ts
 * import { ModelSignatureError } from '@msd/runtime';
 *
 * try { checkSignature(actual, spec, 'onnx/decoder_model.onnx'); }
 * catch (error) { if (ModelSignatureError.isInstance(error)) console.error(error.differences); }
 * ```
 */
export class ModelSignatureError extends MsdError {
  private readonly [signatureSymbol] = true;
  /** The graph file that does not match. */
  readonly file: string;
  /** One line per difference. */
  readonly differences: string[];

  constructor(options: { file: string; differences: string[] }) {
    super({
      code: 'model_signature_mismatch',
      message: `${options.file} does not match the model manifest: ${options.differences.join('; ')}.`,
      hint: 'Re-export the model with the msd toolchain, or fix manifest.json to describe the ONNX file.',
    });
    this.name = 'ModelSignatureError';
    this.file = options.file;
    this.differences = options.differences;
  }

  /** True when `error` is a {@link ModelSignatureError} from any installed copy of msd. */
  static override isInstance(error: unknown): error is ModelSignatureError {
    return MsdError.hasMarker(error, signatureMarker);
  }
}

const fileMarker = 'msd.error.ModelFileError';
const fileSymbol = Symbol.for(fileMarker);

/**
 * A model file is missing or onnxruntime cannot load it.
 *
 * @example
 * ```ts
 * import { ModelFileError } from '@msd/runtime';
 *
 * new ModelFileError({ file: 'onnx/decoder_model.onnx', message: 'The file does not exist.' });
 * ```
 */
export class ModelFileError extends MsdError {
  private readonly [fileSymbol] = true;
  /** The file that could not be loaded. */
  readonly file: string;

  constructor(options: { file: string; message: string; hint?: string; cause?: unknown }) {
    super({
      code: 'model_file_unusable',
      message: `${options.file}: ${options.message}`,
      hint: options.hint ?? 'Check the model directory (see docs/model-format.md) or re-export it with the msd toolchain.',
      cause: options.cause,
    });
    this.name = 'ModelFileError';
    this.file = options.file;
  }

  /** True when `error` is a {@link ModelFileError} from any installed copy of msd. */
  static override isInstance(error: unknown): error is ModelFileError {
    return MsdError.hasMarker(error, fileMarker);
  }
}
