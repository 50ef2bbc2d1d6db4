// Filled in by the web adapters; see the package README.
export {};
