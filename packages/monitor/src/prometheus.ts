/** Label values of one sample. */
export type Labels = Readonly<Record<string, string>>;

/**
 * Writes the Prometheus text exposition format (version 0.0.4): a `# HELP` and `# TYPE` line
 * per family, then its samples, label values escaped.
 */
export class Exposition {
  readonly #lines: string[] = [];
  readonly #families = new Set<string>();

  /** Declares a family; samples of it follow. Declaring one twice is a programming error. */
  family(name: string, type: 'counter' | 'gauge' | 'summary', help: string): this {
    if (this.#families.has(name)) throw new Error(`metric family ${name} declared twice`);
    this.#families.add(name);
    this.#lines.push(`# HELP ${name} ${help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${name} ${type}`);
    return this;
  }

  sample(name: string, labels: Labels, value: number): this {
    const keys = Object.keys(labels);
    const rendered = keys.length === 0 ? '' : `{${keys.map((k) => `${k}="${escapeLabel(labels[k]!)}"`).join(',')}}`;
    this.#lines.push(`${name}${rendered} ${formatValue(value)}`);
    return this;
  }

  toString(): string {
    return `${this.#lines.join('\n')}\n`;
  }
}

/** Escapes a label value: backslash, double quote and newline. */
export function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}
