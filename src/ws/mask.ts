/**
 * XORs data[start, end) in place with the 4-byte mask (mask[0-3]; the parser passes its header
 * field, which holds the key there); `maskOffset` is the position of
 * data[start] within the masked payload, so a payload that arrives in pieces can be unmasked
 * piece by piece. Long runs go through 32-bit words once the position is 4-byte aligned in
 * the underlying ArrayBuffer; the mask is rotated so that word-wise XOR matches byte order
 * on this (little-endian or big-endian) machine.
 */
export function unmask(data: Uint8Array, mask: Uint8Array, start: number, end: number, maskOffset: number): void {
  let i = start;
  let k = maskOffset & 3;
  if (end - start >= 64) {
    // Byte-wise until the absolute address is 4-aligned, then words; the tail is done below.
    while ((data.byteOffset + i) & 3) {
      data[i] = data[i]! ^ mask[k]!;
      k = (k + 1) & 3;
      i++;
    }
    const words = (end - i) >>> 2;
    const view = new Uint32Array(data.buffer, data.byteOffset + i, words);
    const w = wordMask(mask, k);
    for (let j = 0; j < words; j++) view[j] = view[j]! ^ w;
    i += words << 2;
  }
  // The mask rotated to the current phase, four bytes per step: no per-byte modulo or branch.
  const r0 = mask[k]!;
  const r1 = mask[(k + 1) & 3]!;
  const r2 = mask[(k + 2) & 3]!;
  const r3 = mask[(k + 3) & 3]!;
  for (; i + 3 < end; i += 4) {
    data[i] = data[i]! ^ r0;
    data[i + 1] = data[i + 1]! ^ r1;
    data[i + 2] = data[i + 2]! ^ r2;
    data[i + 3] = data[i + 3]! ^ r3;
  }
  if (i < end) data[i] = data[i]! ^ r0;
  if (i + 1 < end) data[i + 1] = data[i + 1]! ^ r1;
  if (i + 2 < end) data[i + 2] = data[i + 2]! ^ r2;
}

/** Scratch for wordMask: four bytes seen as the 32-bit word they are in this machine's byte order. */
const maskBytes = new Uint8Array(4);
const maskWord = new Uint32Array(maskBytes.buffer);

/** The 32-bit value whose in-memory bytes are mask[k], mask[k+1], … (mod 4), on either endianness. */
function wordMask(mask: Uint8Array, k: number): number {
  maskBytes[0] = mask[k & 3]!;
  maskBytes[1] = mask[(k + 1) & 3]!;
  maskBytes[2] = mask[(k + 2) & 3]!;
  maskBytes[3] = mask[(k + 3) & 3]!;
  return maskWord[0]!;
}
