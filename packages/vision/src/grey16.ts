/**
 * 16-bit grey values to 8-bit RGB as PIL converts mode `I;16`: values above 255 clip to 255 (a 16-bit
 * greyscale PNG is mostly white in PIL, and so in Hugging Face's processors), each replicated 3 times.
 *
 * @example
 * ```ts
 * clipGrey16(new Uint16Array([0, 200, 30000])); // Uint8Array [0, 0, 0, 200, 200, 200, 255, 255, 255]
 * ```
 */
export function clipGrey16(values: Uint16Array): Uint8Array {
  const rgb = new Uint8Array(values.length * 3);
  for (let index = 0; index < values.length; index++) rgb.fill(Math.min(values[index]!, 255), index * 3, index * 3 + 3);
  return rgb;
}
