import { ImageSourceError, ImageTooLargeError } from './errors';

/**
 * Decodes a `data:` URL (base64 or percent-encoded) to bytes. The byte limit is
 * checked from the URL length before decoding.
 *
 * @example
 * ```ts
 * import { parseDataUrl } from '@msd/vision';
 *
 * const bytes = parseDataUrl('data:image/png;base64,iVBORw0KGgo=');
 * ```
 */
export function parseDataUrl(url: string, maxBytes = Number.POSITIVE_INFINITY): Uint8Array {
  const label = `<data: URL ${url.length} chars>`;
  const comma = url.indexOf(',');
  if (!url.startsWith('data:') || comma < 0) {
    throw new ImageSourceError({ source: label, message: 'Malformed data: URL (no comma).', hint: 'Use data:image/<type>;base64,<data>.' });
  }
  const meta = url.slice(5, comma).toLowerCase();
  const payload = url.slice(comma + 1);
  const isBase64 = meta.split(';').includes('base64');
  const estimate = isBase64 ? Math.floor((payload.length * 3) / 4) : payload.length;
  if (estimate > maxBytes + 3) {
    throw new ImageTooLargeError({ source: label, limit: 'bytes', actual: estimate, max: maxBytes });
  }
  if (isBase64) {
    const clean = payload.replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(clean)) {
      throw new ImageSourceError({ source: label, message: 'The data: URL payload is not valid base64.', hint: 'Re-encode the image as base64.' });
    }
    return decodeBase64(clean);
  }
  return percentDecode(payload, label);
}

function percentDecode(payload: string, label: string): Uint8Array {
  const out = new Uint8Array(payload.length);
  let length = 0;
  for (let i = 0; i < payload.length; i++) {
    const code = payload.charCodeAt(i);
    if (code === 0x25) {
      const byte = Number.parseInt(payload.slice(i + 1, i + 3), 16);
      if (!/^[0-9a-fA-F]{2}$/.test(payload.slice(i + 1, i + 3)) || Number.isNaN(byte)) {
        throw new ImageSourceError({ source: label, message: `Invalid percent-escape at character ${i} of the data: URL.`, hint: 'Use a base64 data: URL.' });
      }
      out[length++] = byte;
      i += 2;
    } else if (code < 256) {
      out[length++] = code;
    } else {
      throw new ImageSourceError({ source: label, message: 'The data: URL holds non-Latin-1 characters.', hint: 'Use a base64 data: URL.' });
    }
  }
  return out.slice(0, length);
}

const BASE64_VALUES = (() => {
  const values = new Int8Array(128).fill(-1);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  for (let index = 0; index < 64; index++) values[alphabet.charCodeAt(index)] = index;
  // The URL-safe alphabet too, as Node's Buffer accepts it.
  values[0x2d] = 62;
  values[0x5f] = 63;
  return values;
})();

/**
 * Base64 (checked against `[A-Za-z0-9+/_-]*={0,2}` by the caller) to bytes, as Node's `Buffer.from(text, 'base64')`
 * decodes it: stops at `=`, drops the bits of an incomplete last byte. Not `Buffer` (absent in browsers), nor `atob`,
 * which refuses the URL-safe alphabet and unpadded lengths that Buffer accepts.
 */
function decodeBase64(text: string): Uint8Array {
  const end = text.indexOf('=') < 0 ? text.length : text.indexOf('=');
  const out = new Uint8Array(Math.floor((end * 6) / 8));
  let bits = 0;
  let buffer = 0;
  let length = 0;
  for (let index = 0; index < end; index++) {
    buffer = ((buffer << 6) | BASE64_VALUES[text.charCodeAt(index)]!) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[length++] = (buffer >> bits) & 0xff;
    }
  }
  return out;
}
