export { AdapterError, classifyAdapterError, fromFsError, type AdapterErrorCode, type AdapterErrorOptions } from './errors.js';
export { AllowedRoots, isInside, type SafePath } from './roots.js';
export {
  listDirectoryInside,
  listDirectoryInsideSync,
  openDirectoryInside,
  openInside,
  openInsideSync,
  verifyOpened,
  verifyOpenedSync,
  type DirectoryInside,
  type OpenDirectoryOptions,
  type OpenedCheck,
  type OpenedInside,
  type OpenInsideOptions,
} from './open-inside.js';
export { ByteCap } from './caps.js';
