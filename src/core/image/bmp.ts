// A small BMP reader: sharp (libvips) has no BMP loader, and BMP is common in datasets.
// Supports uncompressed 8-bit (palette), 24-bit and 32-bit (BI_RGB / BI_BITFIELDS) images,
// bottom-up or top-down. Returns interleaved RGB, 8 bits per channel.
import { VitLensError } from '../../shared/errors';

export function isBmp(bytes: Buffer): boolean {
  return bytes.length >= 2 && bytes[0] === 0x42 && bytes[1] === 0x4d; // "BM"
}

export function decodeBmp(bytes: Buffer, name: string, maxPixels: number): { rgb: Buffer; width: number; height: number } {
  const fail = (why: string) => new VitLensError('IMAGE_CORRUPT', `${name} is not a readable BMP: ${why}.`, 'Re-save it as PNG.');
  if (bytes.length < 54) throw fail('file too short');
  const dataOffset = bytes.readUInt32LE(10);
  const headerSize = bytes.readUInt32LE(14);
  if (headerSize < 40) throw new VitLensError('IMAGE_UNSUPPORTED', `${name} uses an old OS/2 BMP header.`, 'Re-save it as PNG.');
  const width = bytes.readInt32LE(18);
  const rawHeight = bytes.readInt32LE(22);
  const bpp = bytes.readUInt16LE(28);
  const compression = bytes.readUInt32LE(30);
  const height = Math.abs(rawHeight);
  const topDown = rawHeight < 0;
  if (width <= 0 || height === 0) throw fail('bad dimensions');
  if (width * height > maxPixels) {
    throw new VitLensError(
      'IMAGE_TOO_LARGE',
      `${name} has ${((width * height) / 1e6).toFixed(1)} megapixels, over the limit of ${(maxPixels / 1e6).toFixed(0)} MP.`,
      'Downscale the image.',
    );
  }
  const bitfields = compression === 3 || compression === 6;
  if (!(compression === 0 || (bitfields && bpp === 32)) || ![8, 24, 32].includes(bpp)) {
    throw new VitLensError(
      'IMAGE_UNSUPPORTED',
      `${name} is a ${bpp}-bit BMP with compression ${compression}, which ViT Lens does not read.`,
      'Re-save it as PNG.',
    );
  }
  const rowSize = Math.ceil((width * bpp) / 32) * 4;
  if (dataOffset + rowSize * height > bytes.length) throw fail('pixel data is truncated');
  // Channel masks for 32-bit BITFIELDS; default BGRA order.
  const masks = bitfields ? [bytes.readUInt32LE(54), bytes.readUInt32LE(58), bytes.readUInt32LE(62)] : [0x00ff0000, 0x0000ff00, 0x000000ff];
  const shiftOf = (m: number) => {
    let s = 0;
    while (m && !(m & 1)) {
      m >>>= 1;
      s++;
    }
    return s;
  };
  const shifts = masks.map(shiftOf);
  const palette = bpp === 8 ? 14 + headerSize : 0;
  const rgb = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    const row = dataOffset + (topDown ? y : height - 1 - y) * rowSize;
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3;
      if (bpp === 8) {
        const p = palette + bytes[row + x] * 4; // palette entries are BGR0
        rgb[o] = bytes[p + 2];
        rgb[o + 1] = bytes[p + 1];
        rgb[o + 2] = bytes[p];
      } else if (bpp === 24) {
        const p = row + x * 3;
        rgb[o] = bytes[p + 2];
        rgb[o + 1] = bytes[p + 1];
        rgb[o + 2] = bytes[p];
      } else {
        const v = bytes.readUInt32LE(row + x * 4);
        for (let c = 0; c < 3; c++) rgb[o + c] = ((v & masks[c]) >>> shifts[c]) & 0xff;
      }
    }
  }
  return { rgb, width, height };
}
