/** Element type of a tensor, as onnxruntime names it. */
export type TensorDataType = 'float32' | 'float16' | 'int64' | 'int32' | 'bool' | 'uint8';

/** One named input or output of an ONNX graph: symbolic dims are strings, fixed dims numbers. */
export interface TensorSpec {
  name: string;
  dtype: TensorDataType;
  dims: Array<string | number>;
}

/** One ONNX file of a model directory and the signature it must have. */
export interface GraphSpec {
  /** Path relative to the model directory, e.g. `onnx/decoder_model.onnx`. */
  file: string;
  inputs: TensorSpec[];
  outputs: TensorSpec[];
}

/** A draft model of the directory (MSD or an ablation). */
export interface DraftSpec extends GraphSpec {
  /** True when image positions bypass `fc` (MSD's decoupling). */
  decoupled: boolean;
  /** How many candidates per position the graph returns (`topk_ids`). */
  topK: number;
  /** How the draft was trained (e.g. `two-stage`, `multimodal-only`). */
  curriculum: string;
  /**
   * How its matrix weights are stored: `int8` (onnxruntime's `DynamicQuantizeMatMul`; the draft only
   * proposes, the target still decides every token) or `float` (absent in older manifests).
   */
  weights?: 'int8' | 'float';
}

/**
 * `manifest.json` of an msd model directory: every graph with its input and output names, dims and
 * dtypes, and the facts a decoder needs (image token, image positions per image, cache geometry).
 * `docs/model-format.md` describes the layout.
 *
 * @example
 * ```ts
 * import type { ModelManifest } from '@msd/core';
 *
 * const manifest: ModelManifest = JSON.parse(await readFile('model/manifest.json', 'utf8'));
 * console.log(manifest.imageTokensPerImage); // 144 for the bundled tiny model
 * ```
 */
export interface ModelManifest {
  format: 'msd-model';
  formatVersion: 1;
  /** Model family, e.g. `llava`. */
  architecture: string;
  imageTokenId: number;
  imageTokensPerImage: number;
  imageSize: number;
  /** `null`: the model's tokenizer adds no BOS (Qwen2's byte-level BPE). */
  bosTokenId: number | null;
  eosTokenId: number;
  padTokenId: number;
  vocabSize: number;
  hiddenSize: number;
  numLayers: number;
  numKeyValueHeads: number;
  headDim: number;
  maxPositions: number;
  graphs: {
    visionEncoder: GraphSpec;
    embedTokens: GraphSpec;
    decoder: GraphSpec;
  };
  /** Drafts by name; `defaultDraft` names the one `msd` uses. */
  drafts: Record<string, DraftSpec>;
  defaultDraft?: string;
}
