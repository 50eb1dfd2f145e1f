/** Small DOM helpers of the app: element lookup that names what is missing, downloads, text files. */

export function $<T extends HTMLElement = HTMLElement>(selector: string, root: ParentNode = document): T {
  const el = root.querySelector<T>(selector);
  if (!el) throw new Error(`page is missing ${selector}`);
  return el;
}

/** Saves bytes or text as a file through the browser's download (nothing leaves the machine). */
export function download(name: string, content: BlobPart, type: string): void {
  const url = URL.createObjectURL(new Blob([content], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.style.display = 'none';
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

export const fileKind = (name: string): 'model' | 'points' | 'image' =>
  /\.safetensors$/i.test(name) ? 'model' : /\.(json|csv)$/i.test(name) ? 'points' : 'image';

export { escapeHtml } from '../util/html';
