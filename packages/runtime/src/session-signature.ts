import type { GraphSpec, TensorDataType, TensorSpec } from '@msd/core';
import type { InferenceSession } from 'onnxruntime-node';
import { ModelSignatureError } from './errors';

/** The inputs and outputs a session really has. */
export interface SessionSignature {
  /** The session's inputs as onnxruntime reports them, in graph order. */
  inputs: TensorSpec[];
  /** The session's outputs as onnxruntime reports them, in graph order. */
  outputs: TensorSpec[];
}

function toSpecs(metadata: readonly InferenceSession.ValueMetadata[]): TensorSpec[] {
  return metadata.map((value) =>
    value.isTensor ? { name: value.name, dtype: value.type as TensorDataType, dims: [...value.shape] } : { name: value.name, dtype: 'float32', dims: [] },
  );
}

/**
 * Reads the names, dtypes and dims of a session's inputs and outputs from onnxruntime.
 *
 * @example
 * ```ts
 * import { createSession, sessionSignature } from '@msd/runtime';
 *
 * const signature = sessionSignature(await createSession('model/onnx/embed_tokens.onnx'));
 * // { inputs: [{ name: 'input_ids', dtype: 'int64', dims: ['batch_size', 'sequence_length'] }], outputs: [...] }
 * ```
 */
export function sessionSignature(session: InferenceSession): SessionSignature {
  return { inputs: toSpecs(session.inputMetadata), outputs: toSpecs(session.outputMetadata) };
}

function compare(kind: 'input' | 'output', actual: TensorSpec[], expected: TensorSpec[]): string[] {
  const differences: string[] = [];
  const byName = new Map(actual.map((spec) => [spec.name, spec]));
  for (const spec of expected) {
    const found = byName.get(spec.name);
    if (!found) {
      differences.push(`${kind} '${spec.name}' is missing`);
      continue;
    }
    if (found.dtype !== spec.dtype) differences.push(`${kind} '${spec.name}' is ${found.dtype}, manifest says ${spec.dtype}`);
    if (JSON.stringify(found.dims) !== JSON.stringify(spec.dims)) {
      differences.push(`${kind} '${spec.name}' has dims [${found.dims.join(', ')}], manifest says [${spec.dims.join(', ')}]`);
    }
    byName.delete(spec.name);
  }
  for (const name of byName.keys()) differences.push(`${kind} '${name}' is not in the manifest`);
  return differences;
}

/**
 * Throws a {@link ModelSignatureError} listing every difference between a session's real signature
 * and the manifest's declaration of it.
 *
 * @example
 * ```ts
 * import { checkSignature, createSession, sessionSignature } from '@msd/runtime';
 *
 * const session = await createSession(`${dir}/${manifest.graphs.decoder.file}`);
 * checkSignature(sessionSignature(session), manifest.graphs.decoder);
 * ```
 */
export function checkSignature(actual: SessionSignature, expected: GraphSpec): void {
  const differences = [...compare('input', actual.inputs, expected.inputs), ...compare('output', actual.outputs, expected.outputs)];
  if (differences.length > 0) throw new ModelSignatureError({ file: expected.file, differences });
}
