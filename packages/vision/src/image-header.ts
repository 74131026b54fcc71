/**
 * What the first bytes of an encoded image say: the format, and the first frame's size where the format puts it in
 * a header (0 when the header is cut short or malformed; the decoder then has the last word).
 */
export interface ImageHeader {
  /** `png`, `jpeg`, `gif`, `webp`, or a format recognised only to be refused (`tiff`, `bmp`, `avif`, `heif`, `svg`, `ico`). */
  format: string;
  /** Width in pixels before EXIF orientation; 0 when unknown. */
  width: number;
  /** Height in pixels; 0 when unknown. */
  height: number;
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/**
 * Reads an image's format and size from its header, decoding nothing, so the browser build can check
 * `limits.maxPixels` and refuse formats before `createImageBitmap` allocates the pixels (as sharp's metadata
 * does in Node). `undefined` for bytes that are no image format known here.
 */
export function readImageHeader(bytes: Uint8Array): ImageHeader | undefined {
  if (startsWith(bytes, PNG_SIGNATURE)) return pngHeader(bytes);
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return jpegHeader(bytes);
  if (ascii(bytes, 0, 6) === 'GIF87a' || ascii(bytes, 0, 6) === 'GIF89a') return gifHeader(bytes);
  if (ascii(bytes, 0, 4) === 'RIFF' && ascii(bytes, 8, 4) === 'WEBP') return webpHeader(bytes);
  if (startsWith(bytes, [0x49, 0x49, 0x2a, 0x00]) || startsWith(bytes, [0x4d, 0x4d, 0x00, 0x2a])) return unsized('tiff');
  if (ascii(bytes, 0, 2) === 'BM') return unsized('bmp');
  if (startsWith(bytes, [0x00, 0x00, 0x01, 0x00])) return unsized('ico');
  if (ascii(bytes, 4, 4) === 'ftyp') {
    const brand = ascii(bytes, 8, 4);
    if (brand === 'avif' || brand === 'avis') return unsized('avif');
    if (['heic', 'heix', 'hevc', 'heim', 'heis', 'mif1', 'msf1'].includes(brand)) return unsized('heif');
  }
  if (/^(?:\ufeff)?\s*(?:<\?xml[^>]*>\s*)?(?:<!--[\s\S]*?-->\s*)*(?:<!DOCTYPE svg[^>]*>\s*)?<svg[\s>]/i.test(ascii(bytes, 0, 512))) return unsized('svg');
  return undefined;
}

function pngHeader(bytes: Uint8Array): ImageHeader {
  // The IHDR chunk comes first: length (13), "IHDR", width, height.
  if (ascii(bytes, 12, 4) !== 'IHDR') return unsized('png');
  return { format: 'png', width: be32(bytes, 16), height: be32(bytes, 20) };
}

/**
 * The logical screen, grown to hold the first frame: a frame may lie outside the screen it claims (a 2x2 GIF
 * whose frame sits at x = 40000), and decoders then make the image that large, as sharp does.
 */
function gifHeader(bytes: Uint8Array): ImageHeader {
  let width = le16(bytes, 6);
  let height = le16(bytes, 8);
  const flags = bytes[10] ?? 0;
  let offset = 13 + (flags & 0x80 ? 3 << ((flags & 0x07) + 1) : 0);
  while (offset < bytes.length) {
    const block = bytes[offset];
    if (block === 0x2c) {
      width = Math.max(width, le16(bytes, offset + 1) + le16(bytes, offset + 5));
      height = Math.max(height, le16(bytes, offset + 3) + le16(bytes, offset + 7));
      break;
    }
    if (block !== 0x21) break;
    offset += 2; // extension introducer and label, then data sub-blocks up to an empty one
    while (offset < bytes.length && bytes[offset] !== 0) offset += 1 + bytes[offset]!;
    offset += 1;
  }
  return { format: 'gif', width, height };
}

/** Start-of-frame markers (SOF0-SOF15 but DHT, JPG and DAC), whose segment holds the frame's size. */
function isStartOfFrame(marker: number): boolean {
  return marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
}

function jpegHeader(bytes: Uint8Array): ImageHeader {
  let offset = 2;
  while (offset + 4 <= bytes.length) {
    if (bytes[offset] !== 0xff) break;
    const marker = bytes[offset + 1]!;
    if (marker === 0xff) {
      offset += 1; // fill byte before a marker
      continue;
    }
    // Markers without a length: TEM, RST0-7, SOI; EOI and SOS (scan data follows) before any frame header end the search.
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd8)) {
      offset += 2;
      continue;
    }
    if (marker === 0xd9 || marker === 0xda) break;
    const length = be16(bytes, offset + 2);
    if (isStartOfFrame(marker)) {
      if (offset + 9 > bytes.length) break;
      return { format: 'jpeg', height: be16(bytes, offset + 5), width: be16(bytes, offset + 7) };
    }
    if (length < 2) break;
    offset += 2 + length;
  }
  return unsized('jpeg');
}

function webpHeader(bytes: Uint8Array): ImageHeader {
  const chunk = ascii(bytes, 12, 4);
  if (chunk === 'VP8X' && bytes.length >= 30) {
    // The canvas size of extended WebP (animated, alpha, metadata), 24-bit, minus one.
    return { format: 'webp', width: 1 + le24(bytes, 24), height: 1 + le24(bytes, 27) };
  }
  if (chunk === 'VP8 ' && bytes.length >= 30 && bytes[23] === 0x9d && bytes[24] === 0x01 && bytes[25] === 0x2a) {
    // Lossy: after the 3-byte frame tag and the start code, 14-bit width and height (2 bits of scale above).
    return { format: 'webp', width: le16(bytes, 26) & 0x3fff, height: le16(bytes, 28) & 0x3fff };
  }
  if (chunk === 'VP8L' && bytes.length >= 25 && bytes[20] === 0x2f) {
    // Lossless: after the signature byte, 14-bit width and height, minus one, packed little-endian.
    const bits = bytes[21]! | (bytes[22]! << 8) | (bytes[23]! << 16) | (bytes[24]! << 24);
    return { format: 'webp', width: 1 + (bits & 0x3fff), height: 1 + ((bits >>> 14) & 0x3fff) };
  }
  return unsized('webp');
}

function unsized(format: string): ImageHeader {
  return { format, width: 0, height: 0 };
}

function startsWith(bytes: Uint8Array, prefix: readonly number[]): boolean {
  return bytes.length >= prefix.length && prefix.every((byte, index) => bytes[index] === byte);
}

function ascii(bytes: Uint8Array, offset: number, length: number): string {
  return String.fromCharCode(...bytes.subarray(offset, Math.min(offset + length, bytes.length)));
}

function be16(bytes: Uint8Array, offset: number): number {
  return ((bytes[offset] ?? 0) << 8) | (bytes[offset + 1] ?? 0);
}

function be32(bytes: Uint8Array, offset: number): number {
  return (((bytes[offset] ?? 0) << 24) | ((bytes[offset + 1] ?? 0) << 16) | ((bytes[offset + 2] ?? 0) << 8) | (bytes[offset + 3] ?? 0)) >>> 0;
}

function le16(bytes: Uint8Array, offset: number): number {
  return (bytes[offset] ?? 0) | ((bytes[offset + 1] ?? 0) << 8);
}

function le24(bytes: Uint8Array, offset: number): number {
  return le16(bytes, offset) | ((bytes[offset + 2] ?? 0) << 16);
}
