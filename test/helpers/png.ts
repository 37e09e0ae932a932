/** Test bytes that pass the upload's type check for `image/png`: the PNG signature, then filler. */
const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** The PNG signature followed by `filler` bytes counting up (mod 251), so that a copy can be compared. */
export function pngBytes(filler: number): Uint8Array<ArrayBuffer> {
  return new Uint8Array([...SIGNATURE, ...Array.from({ length: filler }, (_, i) => i % 251)]);
}
