/** jpeg-js's decoder module alone (the package types only its index, which also loads the encoder). */
declare module 'jpeg-js/lib/decoder.js' {
  const decode: (bytes: Uint8Array, opts: Record<string, unknown>) => { width: number; height: number; data: Uint8Array };
  export default decode;
}

/** jpeg-lossless-decoder-js ships no declaration file (its package.json names one that is absent). */
declare module 'jpeg-lossless-decoder-js' {
  export class Decoder {
    /** Decodes a JPEG lossless (process 14) stream; `numBytes` per output sample (1 or 2). */
    decode(buffer: ArrayBuffer, offset: number, length: number, numBytes?: number): Uint8Array | Uint16Array;
  }
}
