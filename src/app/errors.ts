/**
 * What the page says when something fails, pure (unit-tested in Node): each library error
 * becomes a short message a clinician can act on, plus what can be done about it. The page
 * shows it in #status as `error: …` and keeps every point and image it had. Errors are told apart
 * by class (`instanceof`, the library exports every one), never by their messages.
 */
import { CheckpointError, DataError, DeviceLostError, LimitError, NoAdapterError, OutOfMemoryError, WeightFileError } from '../browser';
import { PointsFileError } from './points_io';

export type ErrorKind = 'no-webgpu' | 'adapter' | 'device-lost' | 'out-of-memory' | 'checkpoint' | 'image' | 'points' | 'other';

export interface Explained {
  kind: ErrorKind;
  /** One line for #status (after "error: "). */
  message: string;
  /** What to do about it (shown under the status). */
  advice: string;
}

export const WEBGPU_ADVICE =
  'Use a browser with WebGPU: Chrome or Edge 113+ (Windows, macOS, ChromeOS, Android), Chrome on Linux with ' +
  'chrome://flags/#enable-unsafe-webgpu and #enable-vulkan, Firefox 141+ on Windows (elsewhere dom.webgpu.enabled in about:config), ' +
  'or Safari 26+. Open the page from https:// or http://localhost (a secure context).';

const text = (e: unknown): string => (e instanceof Error ? e.message : String(e));

const POINTS_ADVICE = 'Import an osteo points file (this page\u2019s export, or points.json of osteo predict) or a CSV exported here, for a model with the same landmarks.';

/** Sorts an error into one of the cases the page handles, with its message and advice. */
export function explain(e: unknown, context: { what?: string } = {}): Explained {
  const msg = text(e) || 'failed without a message';
  // library messages usually start with the file already: no "a.png: a.png: …"
  const what = context.what && !msg.includes(context.what) ? `${context.what}: ` : '';
  if (e instanceof NoAdapterError) {
    const missing = e.reason === 'no-webgpu';
    return {
      kind: missing ? 'no-webgpu' : 'adapter',
      message: missing ? `WebGPU is not available in this browser (${msg})` : `no WebGPU adapter (${msg})`,
      advice: WEBGPU_ADVICE,
    };
  }
  if (e instanceof DeviceLostError) {
    return { kind: 'device-lost', message: `${what}the GPU device was lost (${msg})`, advice: 'Your points are kept. Press "Recover GPU" to get a new device and reload the model.' };
  }
  if (e instanceof OutOfMemoryError || e instanceof LimitError) {
    return { kind: 'out-of-memory', message: `${what}out of GPU memory (${msg})`, advice: 'Close other GPU-heavy tabs, or use a model trained at a smaller input size (e.g. 256 or 128 px), or fewer images per fine-tuning batch.' };
  }
  if (e instanceof CheckpointError || e instanceof WeightFileError) {
    return { kind: 'checkpoint', message: `${what}not a usable osteo checkpoint (${msg})`, advice: 'Open a .safetensors file written by osteo train, the CLI, or this page’s fine-tuning.' };
  }
  // before the image case: a points file's messages name images too
  if (e instanceof PointsFileError || e instanceof RangeError) {
    return { kind: 'points', message: `${what}${msg}`, advice: 'Import a JSON or CSV file exported by this page for a model with the same landmarks.' };
  }
  if (e instanceof DataError) {
    return { kind: 'image', message: `${what}cannot read this image (${msg})`, advice: 'Supported: PNG (8/16-bit), JPEG, BMP, and what the browser decoder reads. Other images stay open.' };
  }
  return { kind: 'other', message: `${what}${msg}`, advice: 'Nothing was lost; your points are kept. Reload the page if the problem persists.' };
}
