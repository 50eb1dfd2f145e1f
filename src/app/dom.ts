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

/** Files worth opening from a folder: X-ray images, checkpoints and points files by extension (no hidden files). */
export const openable = (name: string): boolean =>
  !name.startsWith('.') && /\.(png|jpe?g|bmp|webp|dcm|dicom|tiff?|mha|safetensors|json|csv)$/i.test(name);

/** The files of a drop, folders walked (Chromium, Firefox, Safari: webkitGetAsEntry); plain files as they come. */
export async function droppedFiles(dt: DataTransfer): Promise<File[]> {
  const entries = Array.from(dt.items, (it) => it.webkitGetAsEntry?.()).filter((e): e is FileSystemEntry => !!e);
  if (!entries.some((e) => e.isDirectory)) return Array.from(dt.files);
  const out: File[] = [];
  const walk = async (e: FileSystemEntry, inFolder: boolean): Promise<void> => {
    if (e.isFile) {
      const f = await new Promise<File>((ok, fail) => (e as FileSystemFileEntry).file(ok, fail));
      if (!inFolder || openable(f.name)) out.push(f);
    } else if (e.isDirectory) {
      const reader = (e as FileSystemDirectoryEntry).createReader();
      for (;;) {
        const batch = await new Promise<FileSystemEntry[]>((ok, fail) => reader.readEntries(ok, fail));
        if (!batch.length) break;
        for (const c of batch) await walk(c, true);
      }
    }
  };
  for (const e of entries) await walk(e, false);
  return out.sort((a, b) => a.name.localeCompare(b.name, undefined, { numeric: true }));
}
