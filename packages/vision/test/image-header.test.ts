import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { readImageHeader } from '../src/image-header';

// The browser build checks maxPixels and the format from the header before createImageBitmap decodes anything,
// as Node does with sharp's metadata; the two must read the same size.

const tinyLlava = fileURLToPath(new URL('../../tiny-llava', import.meta.url));

async function samples(): Promise<Array<[string, Buffer]>> {
  const png = readFileSync(join(tinyLlava, 'examples', 'scene.png'));
  const wide = await sharp(png).resize(300, 32, { fit: 'fill' }).png().toBuffer();
  return [
    ['png', png],
    ['png 640x480', readFileSync(join(tinyLlava, 'examples', 'example.png'))],
    ['png grey + alpha', await sharp(png).greyscale().ensureAlpha(0.5).png().toBuffer()],
    ['png palette', await sharp(png).png({ palette: true }).toBuffer()],
    ['png 16-bit', await sharp(png).toColourspace('rgb16').png().toBuffer()],
    ['jpeg', await sharp(png).jpeg().toBuffer()],
    ['jpeg progressive', await sharp(wide).jpeg({ progressive: true }).toBuffer()],
    ['jpeg with EXIF (APP1 before the frame)', await sharp(png).jpeg().withMetadata({ orientation: 6 }).toBuffer()],
    ['jpeg greyscale', await sharp(png).greyscale().jpeg().toBuffer()],
    ['webp lossy', await sharp(wide).webp().toBuffer()],
    ['webp lossless', await sharp(png).webp({ lossless: true }).toBuffer()],
    ['webp with alpha (VP8X)', await sharp(png).ensureAlpha(0.5).webp().toBuffer()],
    ['gif', await sharp(wide).gif().toBuffer()],
  ];
}

describe('readImageHeader', () => {
  it("reads the format and first frame's size sharp reads, for PNG, JPEG, WebP and GIF", async () => {
    for (const [label, bytes] of await samples()) {
      const metadata = await sharp(bytes).metadata();
      expect(readImageHeader(bytes), label).toEqual({ format: metadata.format, width: metadata.width, height: metadata.pageHeight ?? metadata.height });
    }
  });

  it('grows a GIF to its first frame when the frame lies outside the logical screen, as the decoders do', async () => {
    const gif = Buffer.from(
      await sharp({ create: { width: 2, height: 2, channels: 3, background: { r: 200, g: 0, b: 0 } } })
        .gif()
        .toBuffer(),
    );
    gif.writeUInt16LE(40_000, gif.indexOf(0x2c, 13) + 1);
    expect(readImageHeader(gif)).toEqual({ format: 'gif', width: 40_002, height: 2 });
  });

  it('names formats the browser build refuses, and gives 0 x 0 for a cut-short header', async () => {
    const png = readFileSync(join(tinyLlava, 'examples', 'scene.png'));
    expect(readImageHeader(await sharp(png).tiff().toBuffer())?.format).toBe('tiff');
    expect(readImageHeader(Buffer.from('<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>'))?.format).toBe('svg');
    expect(readImageHeader(Buffer.from('BM\0\0\0\0'))?.format).toBe('bmp');
    expect(readImageHeader(Buffer.from('not an image'))).toBeUndefined();
    expect(readImageHeader(new Uint8Array(0))).toBeUndefined();
    expect(readImageHeader(png.subarray(0, 10))).toEqual({ format: 'png', width: 0, height: 0 });
    const jpeg = await sharp(png).jpeg().toBuffer();
    expect(readImageHeader(jpeg.subarray(0, 30))).toEqual({ format: 'jpeg', width: 0, height: 0 });
  });
});
