export { AdapterError, classifyAdapterError, fromFsError, type AdapterErrorCode, type AdapterErrorOptions } from './errors.js';
export { AllowedRoots, isInside, type SafePath } from './roots.js';
export { ByteCap } from './caps.js';
