import { checkTreeShape, InvalidArgumentError, MsdError, type TreeShape } from '@msd/core';
import { type DownloadProgress, fileModelSource, type ModelFileReader, readModelJson, readModelManifest, urlModelSource } from '@msd/models';
import { applyWebRuntimeSettings, type DeviceName, loadOnnxRuntime, resolveDevice } from '@msd/runtime';
import { readTokenizerFilesWith, Tokenizer, type TokenizerFileReader } from '@msd/tokenizer';
import { ImagePreprocessor } from '@msd/vision';
import { chooseDraft, openOnFirstDevice, samplingTreeShape } from '../open-runners';
import { checkTokenIds, PipelineCore } from '../pipeline-core';
import { resolvePipelineLimits, type PipelineLimits } from '../pipeline-limits';
import { DEFAULT_TREE, overrideTree } from '../tree-defaults';

/** What {@link BrowserPipelineOptions.onProgress} reports while the model loads. */
export interface BrowserLoadProgress {
  /** What is happening, in words. */
  message: string;
  /** The model file being downloaded, when one is. */
  file?: string;
  /** Bytes of `file` received so far. */
  loadedBytes?: number;
  /** `file`'s size, when the server said. */
  totalBytes?: number;
  /** True when `file` came from the Cache API. */
  cached?: boolean;
}

/** Options of {@link BrowserPipeline.create}. */
export interface BrowserPipelineOptions {
  /** Base URL of an msd model directory (manifest.json, tokenizer files, onnx/). Default `'./model/'`. */
  modelUrl?: string | URL;
  /** The files of a model directory the user picked, instead of `modelUrl`. */
  files?: Iterable<File> | ReadonlyMap<string, Blob>;
  /** Any other source of model files, instead of both. */
  source?: ModelFileReader;
  /** Which draft of the manifest to use; `false` loads none. Default: the manifest's default draft. */
  draft?: string | false;
  /**
   * Execution provider, or a fallback list tried in order. Default `['webgpu', 'wasm']`: WebGPU when the
   * browser has a real GPU adapter, else WebAssembly.
   */
  device?: DeviceName | DeviceName[];
  /** Use WebGPU on a software adapter (SwiftShader) even when `wasm` comes later in the list. Default false. */
  allowSoftwareAdapter?: boolean;
  /** URL prefix where onnxruntime-web's `.wasm` / `.mjs` files are served (see docs/browser.md). */
  wasmPaths?: string;
  /** WebAssembly threads (more than 1 needs `crossOriginIsolated`). Default: onnxruntime-web's choice. */
  threads?: number;
  /** Keep model files in the Cache API between visits. Default true. */
  cache?: boolean;
  /** Default tree shape per step (see `DEFAULT_TREE`). */
  tree?: Partial<TreeShape>;
  /** Default tree shape of sampled requests (see `DEFAULT_SAMPLING_TREE`). */
  samplingTree?: Partial<TreeShape>;
  /** Run one short request at load so the first user request is not slower. Default true. */
  warmUp?: boolean;
  /** Safety limits (see `PipelineLimits`). */
  limits?: Partial<PipelineLimits>;
  /** Called while the model loads: steps, and bytes per file. */
  onProgress?: (progress: BrowserLoadProgress) => void;
}

/**
 * Multimodal speculative decoding in a browser tab, on onnxruntime-web (WebAssembly or WebGPU): the
 * same tokenizer, image preprocessing, decode loop, draft and verifier as `MsdPipeline` in Node, with
 * the model loaded from a URL (with progress, cached in the Cache API) or from files the user picked.
 *
 * @example
 * ```ts
 * import { BrowserPipeline } from 'msd'; // the browser entry, picked by your bundler
 *
 * const pipeline = await BrowserPipeline.create({ modelUrl: '/model/', wasmPaths: '/ort/', onProgress: (p) => console.log(p.message) });
 * const stream = pipeline.stream({ prompt: 'Describe the image in detail.', images: [imageBytes], maxNewTokens: 160 });
 * for await (const delta of stream) output.textContent += delta;
 * ```
 */
export class BrowserPipeline extends PipelineCore {
  /**
   * Loads the model: manifest, tokenizer and image processor, then the target and draft graphs on the
   * first usable device of the list (falling back to the next one when opening fails there).
   *
   * @example
   * ```ts
   * const pipeline = await BrowserPipeline.create({ modelUrl: 'https://example.com/tiny-llava/', device: 'wasm', threads: 2 });
   * ```
   */
  static async create(options: BrowserPipelineOptions = {}): Promise<BrowserPipeline> {
    if (options === null || typeof options !== 'object') {
      throw new InvalidArgumentError({ argument: 'options', message: 'BrowserPipeline.create takes an options object.' });
    }
    const report = options.onProgress ?? (() => {});
    const progress = (message: string) => report({ message });
    const limits = resolvePipelineLimits(options.limits);
    const onDownload = (download: DownloadProgress) =>
      report({
        message: `${download.cached ? 'cached' : 'downloading'} ${download.file}`,
        file: download.file,
        loadedBytes: download.loadedBytes,
        ...(download.totalBytes !== undefined ? { totalBytes: download.totalBytes } : {}),
        cached: download.cached,
      });
    const source =
      options.source ??
      (options.files
        ? fileModelSource(options.files)
        : urlModelSource(options.modelUrl ?? './model/', { cache: options.cache ?? true, onProgress: onDownload }));
    const manifest = await readModelManifest(source);
    applyWebRuntimeSettings(await loadOnnxRuntime(), {
      ...(options.wasmPaths !== undefined ? { wasmPaths: options.wasmPaths } : {}),
      ...(options.threads !== undefined ? { threads: options.threads } : {}),
    });
    const resolved = await resolveDevice(options.device ?? ['webgpu', 'wasm'], { allowSoftwareAdapter: options.allowSoftwareAdapter ?? false });
    for (const entry of resolved.skipped) progress(`device ${entry.device} not used: ${entry.reason}`);
    if (resolved.note) progress(resolved.note);

    progress(`loading tokenizer and preprocessor from ${source.label}`);
    const tokenizer = await loadTokenizer(source);
    checkTokenIds(tokenizer, manifest, `${source.label}manifest.json`);
    const preprocessor = await ImagePreprocessor.load(await readModelJson(source, 'preprocessor_config.json'), {
      limits: { maxBytes: limits.maxImageBytes, maxPixels: limits.maxImagePixels },
    });
    const { draftName, draftSpec } = chooseDraft(manifest, options.draft);
    const treeShape = overrideTree(DEFAULT_TREE, options.tree);
    checkTreeShape(treeShape, { maxBranching: draftSpec?.topK, prefix: 'tree.' });
    const samplingTree = samplingTreeShape(options.samplingTree, draftSpec?.topK);
    const { target, draft, device } = await openOnFirstDevice(resolved, {
      directory: source,
      manifest,
      draftName,
      draftSpec,
      options: { warmUp: options.warmUp ?? true },
      tokenizer,
      preprocessor,
      progress,
    });
    progress('ready');
    return new BrowserPipeline({ tokenizer, preprocessor, target, draft, treeShape, samplingTreeShape: samplingTree, device, limits });
  }
}

/**
 * The tokenizer through the model's own file source (so its files get the same progress and cache as the
 * graphs), with the tokenizer package's rules for where a chat template may sit.
 */
async function loadTokenizer(source: ModelFileReader): Promise<Tokenizer> {
  const text = async (name: string) => new TextDecoder().decode(await source.read(name));
  const reader: TokenizerFileReader = {
    location: (name) => `${source.label}${name}`,
    read: text,
    readOptional: (name) =>
      text(name).catch((error: unknown) => {
        if (MsdError.isInstance(error) && error.code === 'model_file_missing') return undefined;
        throw error;
      }),
  };
  return Tokenizer.fromJSON(await readTokenizerFilesWith(reader, source.label));
}
