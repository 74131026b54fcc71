import { BROWSER_IMAGE_FORMATS, decodeInBrowser, probeInBrowser } from './decode-image-browser';
import { fetchImageBytes } from './image-url';
import type { ImagePlatform } from './image-platform';
import { pilResize } from './pil-resample';
import { fetchPreprocessorConfig } from './preprocessor-config-url';

/**
 * The browser's side of the package: URLs fetched, `createImageBitmap` to decode, the port of Pillow to resize
 * (never the canvas: its resampling is not PIL's). Nothing here or below imports a Node module or sharp.
 */
export const platform: ImagePlatform = {
  supportedFormats: BROWSER_IMAGE_FORMATS,
  resamplers: ['pil'],
  inputForms: 'Pass a Blob/File or Uint8Array of the encoded image, a data:image/...;base64,... URL, or an http(s): or blob: URL.',
  readLocation: fetchImageBytes,
  probe: (bytes, label) => probeInBrowser(bytes, label),
  decode: (probed, limits) => decodeInBrowser(probed, limits),
  resize: async (image, width, height, filter) => (image.width === width && image.height === height ? image : pilResize(image, width, height, filter)),
  readConfig: fetchPreprocessorConfig,
};
