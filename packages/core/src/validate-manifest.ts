import { describeValue } from './describe-value';
import { ConfigError } from './errors';
import type { DraftSpec, GraphSpec, ModelManifest, TensorSpec } from './model-manifest';

const DTYPES = new Set(['float32', 'float16', 'int64', 'int32', 'bool', 'uint8']);

/**
 * Upper bounds that keep a hostile or broken manifest from sizing allocations: far above any real
 * vision-language model (LLaVA-1.5-13B: hidden 5120, 40 layers, 576 image positions, 4096 positions).
 */
const BOUNDS = {
  vocabSize: 4_000_000,
  hiddenSize: 65_536,
  numLayers: 1024,
  numKeyValueHeads: 1024,
  headDim: 4096,
  maxPositions: 4_194_304,
  imageSize: 8192,
  draftTopK: 1024,
} as const;

type Record_ = Record<string, unknown>;

class ManifestReader {
  constructor(private readonly path: string | undefined) {}

  fail(field: string, message: string): never {
    throw new ConfigError({
      code: 'invalid_manifest',
      path: this.path,
      message: `${field} ${message}`,
      hint: 'Re-export the model with the msd toolchain, or fix manifest.json (docs/model-format.md).',
    });
  }

  object(value: unknown, field: string): Record_ {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) this.fail(field, `must be an object, got ${describeValue(value)}.`);
    return value as Record_;
  }

  integer(value: unknown, field: string, min: number, max: number): number {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      this.fail(field, `must be an integer from ${min} to ${max}, got ${describeValue(value)}.`);
    }
    return value;
  }

  string(value: unknown, field: string): string {
    if (typeof value !== 'string' || value.length === 0) this.fail(field, `must be a non-empty string, got ${describeValue(value)}.`);
    return value;
  }

  /** A path inside the model directory: relative, no `..` segment, no NUL. */
  file(value: unknown, field: string): string {
    const file = this.string(value, field);
    const segments = file.split(/[\\/]/);
    if (file.startsWith('/') || /^[a-zA-Z]:/.test(file) || segments.includes('..') || file.includes('\0')) {
      this.fail(field, `must be a path inside the model directory, got '${file}'.`);
    }
    return file;
  }

  tensors(value: unknown, field: string): TensorSpec[] {
    if (!Array.isArray(value)) this.fail(field, `must be an array, got ${describeValue(value)}.`);
    return value.map((entry, index) => {
      const where = `${field}[${index}]`;
      const spec = this.object(entry, where);
      const name = this.string(spec.name, `${where}.name`);
      if (typeof spec.dtype !== 'string' || !DTYPES.has(spec.dtype))
        this.fail(`${where}.dtype`, `must be one of ${[...DTYPES].join(', ')}, got ${describeValue(spec.dtype)}.`);
      if (!Array.isArray(spec.dims)) this.fail(`${where}.dims`, `must be an array, got ${describeValue(spec.dims)}.`);
      spec.dims.forEach((dim, axis) => {
        if (typeof dim === 'string' ? dim.length === 0 : !(typeof dim === 'number' && Number.isInteger(dim) && dim >= 0)) {
          this.fail(`${where}.dims[${axis}]`, `must be a symbolic name or a non-negative integer, got ${describeValue(dim)}.`);
        }
      });
      return { name, dtype: spec.dtype as TensorSpec['dtype'], dims: spec.dims as Array<string | number> };
    });
  }

  graph(value: unknown, field: string): GraphSpec {
    const graph = this.object(value, field);
    return {
      ...graph,
      file: this.file(graph.file, `${field}.file`),
      inputs: this.tensors(graph.inputs, `${field}.inputs`),
      outputs: this.tensors(graph.outputs, `${field}.outputs`),
    };
  }

  /** The named tensor of a graph, or a failure naming the graph. */
  tensor(specs: TensorSpec[], name: string, field: string): TensorSpec {
    const found = specs.find((spec) => spec.name === name);
    if (!found) this.fail(field, `has no '${name}'.`);
    return found;
  }

  /** A fixed dim must equal the manifest's value; a symbolic one is checked by onnxruntime at run time. */
  dim(spec: TensorSpec, axis: number, expected: number, field: string, what: string): void {
    const actual = spec.dims.at(axis);
    if (actual === undefined) this.fail(field, `'${spec.name}' has no axis ${axis} (dims [${spec.dims.join(', ')}]).`);
    if (typeof actual === 'number' && actual !== expected) {
      this.fail(field, `'${spec.name}' has ${actual} on axis ${axis}, but the manifest's ${what} is ${expected}.`);
    }
  }
}

function checkGraphs(reader: ManifestReader, manifest: ModelManifest): void {
  const { graphs, hiddenSize, imageTokensPerImage, imageSize, vocabSize, numLayers, numKeyValueHeads, headDim } = manifest;
  const vision = 'graphs.visionEncoder';
  const pixels = reader.tensor(graphs.visionEncoder.inputs, 'pixel_values', `${vision}.inputs`);
  reader.dim(pixels, -1, imageSize, `${vision}.inputs`, 'imageSize');
  reader.dim(pixels, -2, imageSize, `${vision}.inputs`, 'imageSize');
  const features = reader.tensor(graphs.visionEncoder.outputs, 'image_features', `${vision}.outputs`);
  reader.dim(features, -2, imageTokensPerImage, `${vision}.outputs`, 'imageTokensPerImage');
  reader.dim(features, -1, hiddenSize, `${vision}.outputs`, 'hiddenSize');
  reader.tensor(graphs.embedTokens.inputs, 'input_ids', 'graphs.embedTokens.inputs');
  reader.dim(
    reader.tensor(graphs.embedTokens.outputs, 'inputs_embeds', 'graphs.embedTokens.outputs'),
    -1,
    hiddenSize,
    'graphs.embedTokens.outputs',
    'hiddenSize',
  );
  const decoder = 'graphs.decoder';
  for (const name of ['inputs_embeds', 'position_ids', 'attention_mask']) reader.tensor(graphs.decoder.inputs, name, `${decoder}.inputs`);
  reader.dim(reader.tensor(graphs.decoder.inputs, 'inputs_embeds', `${decoder}.inputs`), -1, hiddenSize, `${decoder}.inputs`, 'hiddenSize');
  reader.dim(reader.tensor(graphs.decoder.outputs, 'logits', `${decoder}.outputs`), -1, vocabSize, `${decoder}.outputs`, 'vocabSize');
  reader.dim(reader.tensor(graphs.decoder.outputs, 'last_hidden_state', `${decoder}.outputs`), -1, hiddenSize, `${decoder}.outputs`, 'hiddenSize');
  const layers = graphs.decoder.inputs.filter((spec) => /^past_key_values\.\d+\.key$/.test(spec.name)).length;
  if (layers !== numLayers) reader.fail(`${decoder}.inputs`, `has ${layers} past_key_values.*.key inputs, but numLayers is ${numLayers}.`);
  for (let layer = 0; layer < numLayers; layer++) {
    for (const part of ['key', 'value']) {
      for (const [specs, name, field] of [
        [graphs.decoder.inputs, `past_key_values.${layer}.${part}`, `${decoder}.inputs`],
        [graphs.decoder.outputs, `present.${layer}.${part}`, `${decoder}.outputs`],
      ] as const) {
        const spec = reader.tensor(specs, name, field);
        reader.dim(spec, 1, numKeyValueHeads, field, 'numKeyValueHeads');
        reader.dim(spec, 3, headDim, field, 'headDim');
      }
    }
  }
}

function readDraft(reader: ManifestReader, value: unknown, field: string, hiddenSize: number): DraftSpec {
  const spec = reader.object(value, field);
  const graph = reader.graph(spec, field);
  if (typeof spec.decoupled !== 'boolean') reader.fail(`${field}.decoupled`, `must be true or false, got ${describeValue(spec.decoupled)}.`);
  const topK = reader.integer(spec.topK, `${field}.topK`, 1, BOUNDS.draftTopK);
  reader.string(spec.curriculum, `${field}.curriculum`);
  if (spec.weights !== undefined && spec.weights !== 'int8' && spec.weights !== 'float')
    reader.fail(`${field}.weights`, `must be 'int8' or 'float', got ${describeValue(spec.weights)}.`);
  reader.dim(reader.tensor(graph.outputs, 'topk_ids', `${field}.outputs`), -1, topK, `${field}.outputs`, `${field}.topK`);
  reader.dim(reader.tensor(graph.outputs, 'last_hidden_state', `${field}.outputs`), -1, hiddenSize, `${field}.outputs`, 'hiddenSize');
  return {
    ...graph,
    decoupled: spec.decoupled as boolean,
    topK,
    curriculum: spec.curriculum as string,
    ...(spec.weights === undefined ? {} : { weights: spec.weights as 'int8' | 'float' }),
  };
}

/**
 * Checks a parsed `manifest.json` against the msd-model v1 schema: every field's type and range,
 * graph file paths confined to the model directory, and the cross-references between the numbers and
 * the graphs (image positions and hidden size against the vision encoder's output, layers, heads and
 * head size against the decoder's cache, token ids against the vocabulary, each draft's `topK` against
 * its graph). Throws a {@link ConfigError} (`invalid_manifest`) naming the first bad field; returns the
 * manifest typed.
 *
 * @example
 * ```ts
 * import { validateModelManifest } from '@msd/core';
 *
 * const manifest = validateModelManifest(JSON.parse(text), 'model/manifest.json');
 * console.log(manifest.hiddenSize);
 * ```
 */
export function validateModelManifest(value: unknown, path?: string): ModelManifest {
  const reader = new ManifestReader(path);
  const raw = reader.object(value, 'the manifest');
  if (raw.format !== 'msd-model' || raw.formatVersion !== 1) {
    throw new ConfigError({
      code: 'invalid_manifest',
      path,
      message: `Unsupported manifest format ${describeValue(raw.format)} v${describeValue(raw.formatVersion)}.`,
      hint: 'This msd reads msd-model v1 manifests.',
    });
  }
  const vocabSize = reader.integer(raw.vocabSize, 'vocabSize', 1, BOUNDS.vocabSize);
  const maxPositions = reader.integer(raw.maxPositions, 'maxPositions', 2, BOUNDS.maxPositions);
  const tokenId = (field: string) => reader.integer(raw[field], field, 0, vocabSize - 1);
  const manifest: ModelManifest = {
    ...(raw as object),
    format: 'msd-model',
    formatVersion: 1,
    architecture: reader.string(raw.architecture, 'architecture'),
    imageTokenId: tokenId('imageTokenId'),
    imageTokensPerImage: reader.integer(raw.imageTokensPerImage, 'imageTokensPerImage', 1, maxPositions - 1),
    imageSize: reader.integer(raw.imageSize, 'imageSize', 1, BOUNDS.imageSize),
    bosTokenId: raw.bosTokenId === null ? null : tokenId('bosTokenId'),
    eosTokenId: tokenId('eosTokenId'),
    padTokenId: tokenId('padTokenId'),
    vocabSize,
    hiddenSize: reader.integer(raw.hiddenSize, 'hiddenSize', 1, BOUNDS.hiddenSize),
    numLayers: reader.integer(raw.numLayers, 'numLayers', 1, BOUNDS.numLayers),
    numKeyValueHeads: reader.integer(raw.numKeyValueHeads, 'numKeyValueHeads', 1, BOUNDS.numKeyValueHeads),
    headDim: reader.integer(raw.headDim, 'headDim', 1, BOUNDS.headDim),
    maxPositions,
    graphs: { visionEncoder: undefined!, embedTokens: undefined!, decoder: undefined! },
    drafts: {},
  };
  const graphs = reader.object(raw.graphs, 'graphs');
  for (const name of ['visionEncoder', 'embedTokens', 'decoder'] as const) manifest.graphs[name] = reader.graph(graphs[name], `graphs.${name}`);
  checkGraphs(reader, manifest);
  const drafts = reader.object(raw.drafts ?? {}, 'drafts');
  for (const [name, draft] of Object.entries(drafts)) manifest.drafts[name] = readDraft(reader, draft, `drafts.${name}`, manifest.hiddenSize);
  if (raw.defaultDraft !== undefined) {
    const name = reader.string(raw.defaultDraft, 'defaultDraft');
    if (!(name in manifest.drafts))
      reader.fail(
        'defaultDraft',
        `names '${name}', but drafts has ${
          Object.keys(manifest.drafts)
            .map((key) => `'${key}'`)
            .join(', ') || 'none'
        }.`,
      );
    manifest.defaultDraft = name;
  }
  return manifest;
}
