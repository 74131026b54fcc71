import { decodeWithSharp, probeWithSharp, SHARP_IMAGE_FORMATS } from './decode-image-sharp';
import { readFileBounded } from './image-file';
import type { ImagePlatform } from './image-platform';
import { readPreprocessorConfigFile } from './preprocessor-config-file';
import { RESAMPLERS } from './resampler';
import { resizeRgb } from './resize-image';

/** Node's side of the package: files from disk, sharp to decode, sharp or the port of Pillow to resize. */
export const platform: ImagePlatform = {
  supportedFormats: SHARP_IMAGE_FORMATS,
  resamplers: RESAMPLERS,
  inputForms: 'Pass a file path, a Buffer/Uint8Array or Blob of the encoded image, or a data:image/...;base64,... URL.',
  readLocation: readFileBounded,
  probe: probeWithSharp,
  decode: decodeWithSharp,
  resize: resizeRgb,
  readConfig: readPreprocessorConfigFile,
};
