// Filled in by the analyze adapters; see the package README.
export {};
