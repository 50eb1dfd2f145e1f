/**
 * Every error class a caller may catch, exported by both entries (`osteo`, `osteo/browser`) so
 * callers (the web app included) tell failures apart with `instanceof`, never by message. All are
 * OsteoErrors; the message names the file, option or tensor at fault.
 */
export { OsteoError, ShapeError, DisposedError, LimitError, ShaderCompileError, GpuError, OutOfMemoryError, DeviceLostError, NoAdapterError } from '../gpu/errors';
export { AutogradError, NonFiniteLossError } from '../autograd/graph';
export { WeightFileError } from '../weights/types';
export { DataError } from '../data/types';
export { CheckpointError } from '../train/checkpoint';
export { ConfigError } from '../train/config';
export { LandmarkCountError, MissingWeightsError } from '../train/init';
export { ApiError } from './model';
