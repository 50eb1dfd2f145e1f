/** Errors the engine throws. Each names what was wrong in terms the caller can act on. */

/** The base of every error osteo throws on purpose: `instanceof OsteoError` tells them from bugs. */
export class OsteoError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A tensor's rank, shape or channel count does not fit the operation. */
export class ShapeError extends OsteoError {}

/** A tensor was used after `dispose()`. */
export class DisposedError extends OsteoError {}

/** A request exceeds what the device can hold or dispatch (buffer size, workgroups). */
export class LimitError extends OsteoError {}

/** WGSL failed to compile; the message carries line, column and the source around it. */
export class ShaderCompileError extends OsteoError {}

/** The WebGPU implementation reported a validation or out-of-memory error. */
export class GpuError extends OsteoError {}

/** The device ran out of memory (a smaller input size or batch needs less). */
export class OutOfMemoryError extends GpuError {}

/** The GPU device was lost (driver reset, tab backgrounded, process killed the context). */
export class DeviceLostError extends OsteoError {}

/** No usable WebGPU adapter. The message says what to install. */
export class NoAdapterError extends OsteoError {
  constructor(
    message: string,
    /**
     * 'no-webgpu': the host has no WebGPU at all (no `navigator.gpu`); 'no-adapter': it has, but no adapter answered.
     */
    readonly reason: 'no-webgpu' | 'no-adapter' = 'no-adapter',
  ) {
    super(message);
  }
}

export const formatShape = (shape: readonly number[]): string => `[${shape.join(', ')}]`;
