/** One point of a kind's series: its limit and load at a moment. */
export interface SeriesPoint {
  /** Milliseconds since the recorder was created. */
  time: number;
  limit: number;
  inflight: number;
  queued: number;
}

/** The latest `capacity` points, in order, in a ring: fixed memory however long the run. */
export class TimeSeries {
  readonly #capacity: number;
  readonly #points: SeriesPoint[] = [];
  #head = 0;

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  get length(): number {
    return this.#points.length;
  }

  /** The newest point, if any. */
  get last(): SeriesPoint | undefined {
    const n = this.#points.length;
    if (n === 0) return undefined;
    return n < this.#capacity ? this.#points[n - 1] : this.#points[(this.#head + this.#capacity - 1) % this.#capacity];
  }

  push(point: SeriesPoint): void {
    if (this.#points.length < this.#capacity) {
      this.#points.push(point);
      return;
    }
    this.#points[this.#head] = point;
    this.#head = (this.#head + 1) % this.#capacity;
  }

  /** The points, oldest first (a copy). */
  toArray(): SeriesPoint[] {
    return this.#points.length < this.#capacity ? [...this.#points] : [...this.#points.slice(this.#head), ...this.#points.slice(0, this.#head)];
  }
}
