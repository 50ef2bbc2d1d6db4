/**
 * The main-thread half of the `map` analyzer: adds up the per-file facts (`facts.ts`) in
 * tree order — the facts themselves, line kinds per language, binary files apart, and the
 * files that could not be read.
 */
import type { MapFileOutcome } from './facts.js';
import type { LanguageLines, MapOutput, SkippedFile } from './output.js';

/** Adds map outcomes up in the order they are given. */
export class MapTally {
  readonly #files: MapOutput['files'] = [];
  readonly #languages = new Map<string, LanguageLines>();
  readonly #binary = { files: 0, bytes: 0 };
  readonly #skipped: SkippedFile[] = [];
  #seen = 0;

  /** Files added so far. */
  get files(): number {
    return this.#seen;
  }

  add(path: string, outcome: MapFileOutcome): void {
    this.#seen++;
    if (outcome.status === 'skipped') {
      this.#skipped.push({ path, reason: outcome.reason });
      return;
    }
    if (outcome.status === 'binary') {
      this.#binary.files++;
      this.#binary.bytes += outcome.bytes;
      return;
    }
    const facts = outcome.facts;
    this.#files.push(facts);
    let lines = this.#languages.get(facts.language);
    if (lines === undefined) {
      lines = { files: 0, blank: 0, comment: 0, code: 0, bytes: 0 };
      this.#languages.set(facts.language, lines);
    }
    lines.files++;
    lines.blank += facts.blank;
    lines.comment += facts.comment;
    lines.code += facts.code;
    lines.bytes += facts.bytes;
  }

  result(): Omit<MapOutput, 'truncated'> {
    const languages: Record<string, LanguageLines> = {};
    for (const name of [...this.#languages.keys()].sort()) languages[name] = this.#languages.get(name)!;
    return { analyzer: 'map', files: this.#files, languages, binary: { ...this.#binary }, skipped: [...this.#skipped] };
  }
}
