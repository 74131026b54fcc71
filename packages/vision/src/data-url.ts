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
    return new Uint8Array(Buffer.from(clean, 'base64'));
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
