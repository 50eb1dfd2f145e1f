// WGSL files are imported as text: esbuild's `text` loader in bundles, a tiny plugin in vitest.
declare module '*.wgsl' {
  const source: string;
  export default source;
}
