import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { MsdError } from '@msd/core';
import { checkSignature, createSession, loadOnnxRuntime, ModelFileError, ModelSignatureError, sessionSignature } from '@msd/runtime';

// A real exported graph (the token embedding of a tiny toolchain model, fp16-stored weights).
const embedTokens = fileURLToPath(new URL('./fixtures/embed_tokens.onnx', import.meta.url));

describe('createSession', () => {
  it('opens an ONNX file and reads its real signature', async () => {
    const session = await createSession(embedTokens);
    const signature = sessionSignature(session);
    expect(signature.inputs).toEqual([{ name: 'input_ids', dtype: 'int64', dims: ['batch_size', 'sequence_length'] }]);
    expect(signature.outputs[0]).toMatchObject({ name: 'inputs_embeds', dtype: 'float32' });
    const ort = await loadOnnxRuntime();
    const out = await session.run({ input_ids: new ort.Tensor('int64', BigInt64Array.from([1n, 2n]), [1, 2]) });
    expect(out.inputs_embeds!.dims).toEqual([1, 2, signature.outputs[0]!.dims[2]]);
    await session.release();
  });

  it('gives a typed error for a missing file and for a file that is not ONNX', async () => {
    await expect(createSession('/nonexistent/model.onnx')).rejects.toSatisfy(ModelFileError.isInstance);
    const junk = join(tmpdir(), `msd-junk-${process.pid}.onnx`);
    writeFileSync(junk, 'not a model');
    const error = await createSession(junk).catch((caught: unknown) => caught);
    expect(ModelFileError.isInstance(error)).toBe(true);
    expect(MsdError.isInstance(error) && error.code).toBe('model_file_unusable');
  });
});

describe('checkSignature', () => {
  it('names every difference', async () => {
    const session = await createSession(embedTokens);
    const actual = sessionSignature(session);
    expect(() => checkSignature(actual, { file: 'embed_tokens.onnx', ...actual })).not.toThrow();
    const wrong = {
      file: 'embed_tokens.onnx',
      inputs: [{ name: 'ids', dtype: 'int64' as const, dims: ['batch_size', 'sequence_length'] }],
      outputs: actual.outputs.map((spec) => ({ ...spec, dims: [1, 2, 3] })),
    };
    const error = (() => {
      try {
        checkSignature(actual, wrong);
      } catch (caught) {
        return caught;
      }
    })();
    expect(ModelSignatureError.isInstance(error)).toBe(true);
    expect((error as ModelSignatureError).differences).toEqual([
      "input 'ids' is missing",
      "input 'input_ids' is not in the manifest",
      expect.stringMatching(/^output 'inputs_embeds' has dims \[batch_size, sequence_length, \d+\], manifest says \[1, 2, 3\]$/),
    ]);
    await session.release();
  });
});
