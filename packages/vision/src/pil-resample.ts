import type { RgbImage } from './rgb-image';

/**
 * PIL resampling filters the exact port supports.
 *
 * @example
 * ```ts
 * import { pilResize, type PilFilter } from '@msd/vision';
 *
 * const filter: PilFilter = 'bicubic';
 * pilResize(image, 336, 336, filter);
 * ```
 */
export type PilFilter = 'nearest' | 'bilinear' | 'bicubic' | 'lanczos' | 'box' | 'hamming';

const PRECISION_BITS = 32 - 8 - 2;
const PRECISION_SCALE = 2 ** PRECISION_BITS;
const HALF = 2 ** (PRECISION_BITS - 1);

function sinc(x: number): number {
  if (x === 0) return 1;
  const px = x * Math.PI;
  return Math.sin(px) / px;
}

const FILTERS: Record<Exclude<PilFilter, 'nearest'>, { support: number; weight: (x: number) => number }> = {
  box: { support: 0.5, weight: (x) => (x > -0.5 && x <= 0.5 ? 1 : 0) },
  bilinear: { support: 1, weight: (x) => (x < 0 ? (x > -1 ? 1 + x : 0) : x < 1 ? 1 - x : 0) },
  hamming: {
    support: 1,
    weight: (x) => {
      const ax = Math.abs(x);
      if (ax === 0) return 1;
      if (ax >= 1) return 0;
      return (Math.sin(ax * Math.PI) / (ax * Math.PI)) * (0.54 + 0.46 * Math.cos(ax * Math.PI));
    },
  },
  bicubic: {
    support: 2,
    weight: (x) => {
      const a = -0.5;
      const ax = Math.abs(x);
      if (ax < 1) return ((a + 2) * ax - (a + 3)) * ax * ax + 1;
      if (ax < 2) return (((ax - 5) * ax + 8) * ax - 4) * a;
      return 0;
    },
  },
  lanczos: { support: 3, weight: (x) => (x > -3 && x < 3 ? sinc(x) * sinc(x / 3) : 0) },
};

interface Coefficients {
  bounds: Int32Array; // xmin, count per output
  weights: Int32Array; // ksize per output
  ksize: number;
}

/** PIL's `precompute_coeffs` + `normalize_coeffs_8bpc`. */
function precompute(inSize: number, outSize: number, filter: { support: number; weight: (x: number) => number }): Coefficients {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = filter.support * filterScale;
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const weights = new Int32Array(outSize * ksize);
  const k = new Float64Array(ksize);
  const ss = 1 / filterScale;
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    let xmin = Math.trunc(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    let xmax = Math.trunc(center + support + 0.5);
    if (xmax > inSize) xmax = inSize;
    xmax -= xmin;
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      const w = filter.weight((x + xmin - center + 0.5) * ss);
      k[x] = w;
      ww += w;
    }
    for (let x = 0; x < xmax; x++) {
      const w = ww !== 0 ? k[x]! / ww : k[x]!;
      weights[xx * ksize + x] = w < 0 ? Math.trunc(-0.5 + w * PRECISION_SCALE) : Math.trunc(0.5 + w * PRECISION_SCALE);
    }
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = xmax;
  }
  return { bounds, weights, ksize };
}

function clip8(sum: number): number {
  const value = Math.floor(sum / PRECISION_SCALE);
  return value < 0 ? 0 : value > 255 ? 255 : value;
}

function horizontal(src: Uint8Array, width: number, height: number, outWidth: number, c: Coefficients): Uint8Array {
  const out = new Uint8Array(outWidth * height * 3);
  const { bounds, weights, ksize } = c;
  for (let y = 0; y < height; y++) {
    const rowIn = y * width * 3;
    const rowOut = y * outWidth * 3;
    for (let xx = 0; xx < outWidth; xx++) {
      const xmin = bounds[xx * 2]!;
      const count = bounds[xx * 2 + 1]!;
      const kBase = xx * ksize;
      let s0 = HALF;
      let s1 = HALF;
      let s2 = HALF;
      let p = rowIn + xmin * 3;
      for (let x = 0; x < count; x++, p += 3) {
        const w = weights[kBase + x]!;
        s0 += src[p]! * w;
        s1 += src[p + 1]! * w;
        s2 += src[p + 2]! * w;
      }
      out[rowOut + xx * 3] = clip8(s0);
      out[rowOut + xx * 3 + 1] = clip8(s1);
      out[rowOut + xx * 3 + 2] = clip8(s2);
    }
  }
  return out;
}

function vertical(src: Uint8Array, width: number, outHeight: number, c: Coefficients): Uint8Array {
  const out = new Uint8Array(width * outHeight * 3);
  const { bounds, weights, ksize } = c;
  const stride = width * 3;
  for (let yy = 0; yy < outHeight; yy++) {
    const ymin = bounds[yy * 2]!;
    const count = bounds[yy * 2 + 1]!;
    const kBase = yy * ksize;
    const rowOut = yy * stride;
    for (let i = 0; i < stride; i++) {
      let sum = HALF;
      let p = ymin * stride + i;
      for (let y = 0; y < count; y++, p += stride) sum += src[p]! * weights[kBase + y]!;
      out[rowOut + i] = clip8(sum);
    }
  }
  return out;
}

function nearest(image: RgbImage, outWidth: number, outHeight: number): RgbImage {
  const out = new Uint8Array(outWidth * outHeight * 3);
  const sx = image.width / outWidth;
  const sy = image.height / outHeight;
  for (let y = 0; y < outHeight; y++) {
    const yi = Math.min(image.height - 1, Math.floor((y + 0.5) * sy));
    for (let x = 0; x < outWidth; x++) {
      const xi = Math.min(image.width - 1, Math.floor((x + 0.5) * sx));
      const from = (yi * image.width + xi) * 3;
      const to = (y * outWidth + x) * 3;
      out[to] = image.data[from]!;
      out[to + 1] = image.data[from + 1]!;
      out[to + 2] = image.data[from + 2]!;
    }
  }
  return { data: out, width: outWidth, height: outHeight };
}

/**
 * A port of Pillow's `Image.resize` for 8-bit RGB (`reducing_gap=None`): the
 * same separable convolution, coefficient rounding (22-bit fixed point) and
 * uint8 intermediate between the horizontal and vertical passes, so it
 * reproduces PIL bit for bit (modulo float summation order in the coefficients).
 *
 * @example
 * ```ts
 * import { pilResize } from '@msd/vision';
 *
 * const resized = pilResize(image, 336, 336, 'bicubic');
 * ```
 */
export function pilResize(image: RgbImage, outWidth: number, outHeight: number, filter: PilFilter): RgbImage {
  if (image.width === outWidth && image.height === outHeight) return image;
  if (filter === 'nearest') return nearest(image, outWidth, outHeight);
  const spec = FILTERS[filter];
  let { data } = image;
  let width = image.width;
  if (outWidth !== width) {
    data = horizontal(data, width, image.height, outWidth, precompute(width, outWidth, spec));
    width = outWidth;
  }
  if (outHeight !== image.height) {
    data = vertical(data, width, outHeight, precompute(image.height, outHeight, spec));
  }
  return { data, width: outWidth, height: outHeight };
}
