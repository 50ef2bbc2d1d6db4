// Filled in by the shell adapters; see the package README.
export {};
