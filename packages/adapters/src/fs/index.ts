// Filled in by the fs adapters; see the package README.
export {};
