import type { GraphSpec } from '@msd/core';
import { checkSignature, createSession, sessionSignature, type CreateSessionOptions, type InferenceSession } from '@msd/runtime';

/**
 * Reads the files of a model directory that is not a local folder: a URL in a browser, files the user
 * picked, an archive. `read` gets a path relative to the model directory (`onnx/decoder_model.onnx`).
 */
export interface ModelFileReader {
  /** Where the files come from, for messages (`https://host/model/`). */
  readonly label: string;
  /** The bytes of one file of the model directory. */
  read(file: string): Promise<Uint8Array>;
}

/** A model directory: a local path (Node), or a {@link ModelFileReader}. */
export type ModelSource = string | ModelFileReader;

/**
 * A file's location inside a model directory given as a path. Joined with `/`, which Node's file
 * functions accept on every platform, so this module needs no `node:path` and runs in a browser too.
 */
function filePath(directory: string, file: string): string {
  return directory.endsWith('/') || directory.endsWith('\\') ? `${directory}${file}` : `${directory}/${file}`;
}

/**
 * Opens one graph of a model directory and checks its real inputs and outputs against the manifest's
 * entry: how both runners open their sessions.
 *
 * @example
 * ```ts
 * import { openGraph } from '@msd/models';
 *
 * const decoder = await openGraph('model', manifest.graphs.decoder, { intraOpNumThreads: 2 });
 * ```
 */
export async function openGraph(source: ModelSource, spec: GraphSpec, options: CreateSessionOptions = {}): Promise<InferenceSession> {
  const session = await createSession(typeof source === 'string' ? filePath(source, spec.file) : await source.read(spec.file), options);
  try {
    checkSignature(sessionSignature(session), spec);
  } catch (error) {
    await session.release();
    throw error;
  }
  return session;
}
