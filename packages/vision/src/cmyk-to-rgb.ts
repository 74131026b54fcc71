/**
 * Converts interleaved CMYK bytes to RGB with PIL's naive formula
 * (`Image.convert('RGB')`, no ICC profile): `R = (255 - K) - C * (255 - K) / 255`,
 * with PIL's exact integer rounding.
 *
 * @example
 * ```ts
 * // cmykToRgb is internal to @msd/vision (not exported): used inside the package only.
 *
 * cmykToRgb(new Uint8Array([0, 255, 255, 0])); // Uint8Array [255, 0, 0]
 * ```
 */
export function cmykToRgb(cmyk: Uint8Array): Uint8Array {
  const pixels = cmyk.length >> 2;
  const rgb = new Uint8Array(pixels * 3);
  for (let p = 0; p < pixels; p++) {
    const nk = 255 - cmyk[p * 4 + 3]!;
    for (let c = 0; c < 3; c++) {
      const tmp = cmyk[p * 4 + c]! * nk + 128;
      const value = nk - (((tmp >> 8) + tmp) >> 8);
      rgb[p * 3 + c] = value < 0 ? 0 : value > 255 ? 255 : value;
    }
  }
  return rgb;
}
