/** jpeg-js's decoder module alone (the package types only its index, which also loads the encoder). */
declare module 'jpeg-js/lib/decoder.js' {
  const decode: (bytes: Uint8Array, opts: Record<string, unknown>) => { width: number; height: number; data: Uint8Array };
  export default decode;
}
