/** What an operation consumes; pressure on a class pauses and shrinks the kinds in it. */
export type ResourceClass = 'cpu' | 'memory' | 'network' | 'disk';

/** Every resource class, in a fixed order. */
export const RESOURCE_CLASSES: readonly ResourceClass[] = ['cpu', 'memory', 'network', 'disk'];

/**
 * The classes of the built-in adapter kinds, by what each spends most: grep, analyze and bash
 * burn CPU; fetch and search use the network; read, write and glob the disk. Every kind also
 * uses memory, which is why memory pressure stops everything.
 */
export const DEFAULT_KIND_CLASSES: Readonly<Record<string, readonly ResourceClass[]>> = {
  grep: ['cpu'],
  analyze: ['cpu'],
  bash: ['cpu'],
  fetch: ['network'],
  search: ['network'],
  read: ['disk'],
  write: ['disk'],
  glob: ['disk'],
};

/** Maps kinds to the classes they consume: the defaults, overridden per kind, plus memory. */
export class KindClasses {
  readonly #map = new Map<string, readonly ResourceClass[]>();
  readonly #overrides: Readonly<Record<string, readonly ResourceClass[]>>;

  constructor(overrides: Readonly<Record<string, readonly ResourceClass[]>> = {}) {
    this.#overrides = overrides;
  }

  of(kind: string): readonly ResourceClass[] {
    let classes = this.#map.get(kind);
    if (classes === undefined) {
      const own = Object.hasOwn(this.#overrides, kind) ? this.#overrides[kind]! : Object.hasOwn(DEFAULT_KIND_CLASSES, kind) ? DEFAULT_KIND_CLASSES[kind]! : [];
      classes = RESOURCE_CLASSES.filter((c) => c === 'memory' || own.includes(c));
      this.#map.set(kind, classes);
    }
    return classes;
  }
}
