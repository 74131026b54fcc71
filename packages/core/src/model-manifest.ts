/** Element type of a tensor, as onnxruntime names it. */
export type TensorDataType = 'float32' | 'float16' | 'int64' | 'int32' | 'bool' | 'uint8';

/** One named input or output of an ONNX graph: symbolic dims are strings, fixed dims numbers. */
export interface TensorSpec {
  /** The input or output name in the ONNX graph, e.g. `pixel_values` or `past_key_values.0.key`. */
  name: string;
  /** Element type the session must report for this tensor. */
  dtype: TensorDataType;
  /** Shape, one entry per axis: a number for a fixed size, a string for a symbolic axis (e.g. `batch`, `past`). */
  dims: Array<string | number>;
}

/** One ONNX file of a model directory and the signature it must have. */
export interface GraphSpec {
  /** Path relative to the model directory, e.g. `onnx/decoder_model.onnx`. */
  file: string;
  /** Every input the graph must declare, compared with the session's real inputs by `checkSignature`. */
  inputs: TensorSpec[];
  /** Every output the graph must declare, compared with the session's real outputs by `checkSignature`. */
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
  /** Format tag; any other value is rejected as an unsupported manifest. */
  format: 'msd-model';
  /** Schema version of the manifest; this msd reads version 1 only. */
  formatVersion: 1;
  /** Model family, e.g. `llava`. */
  architecture: string;
  /** Token id of the `<image>` placeholder; each placeholder expands to {@link imageTokensPerImage} positions holding this id. */
  imageTokenId: number;
  /** Positions one image occupies in the sequence: the patches the vision encoder outputs per image (144 for the bundled tiny model). */
  imageTokensPerImage: number;
  /** Side in pixels of the square image the vision encoder takes (`pixel_values` is `[num_images, 3, imageSize, imageSize]`). */
  imageSize: number;
  /** `null`: the model's tokenizer adds no BOS (Qwen2's byte-level BPE). */
  bosTokenId: number | null;
  /** End-of-sequence token id: generation stops when it is produced; must be the tokenizer's EOS token. */
  eosTokenId: number;
  /** Padding token id (`generation_config.json`'s `pad_token_id`, e.g. `<pad>`); must lie in the vocabulary. */
  padTokenId: number;
  /** Number of tokens in the vocabulary: the last axis of the decoder's `logits`; every token id is below it. */
  vocabSize: number;
  /** Width of the decoder's hidden states and embeddings (and of the projected image features). */
  hiddenSize: number;
  /** Decoder layers: the decoder graph has one `past_key_values.{i}.key`/`.value` pair per layer. */
  numLayers: number;
  /** Key/value heads per layer in the decoder's KV cache (axis 1 of `past_key_values.*`). */
  numKeyValueHeads: number;
  /** Size of one attention head (axis 3 of `past_key_values.*`). */
  headDim: number;
  /** Longest sequence the model supports, in positions: prompt (images included) plus generated tokens plus the draft tree must fit. */
  maxPositions: number;
  /** The target model's three ONNX graphs. */
  graphs: {
    /** Image encoder and projector: `pixel_values` to `image_features`, ready to place at image positions. */
    visionEncoder: GraphSpec;
    /** Token embedding lookup: `input_ids` to `inputs_embeds`. */
    embedTokens: GraphSpec;
    /** The language decoder over new positions, with an additive 4D mask and past key/values. */
    decoder: GraphSpec;
  };
  /** Drafts by name; `defaultDraft` names the one `msd` uses. */
  drafts: Record<string, DraftSpec>;
  /** Name of the entry of {@link drafts} used when no draft is chosen; absent: generation runs without a draft. */
  defaultDraft?: string;
}
