/**
 * Two independent 32-bit hashes of a string: cyrb53 by bryc (public domain), whose two
 * halves are mixed separately. One picks the register, the other gives the rank.
 */
export function hash2(text: string, seed = 0): [number, number] {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return [h1 >>> 0, h2 >>> 0];
}

/**
 * Counts distinct strings in fixed memory (2^p bytes), the HyperLogLog of Flajolet, Fusy,
 * Gandouet and Meunier (2007) with its small-range correction (linear counting). With the
 * default p = 14 the standard error is 1.04 / √16384 ≈ 0.8%. The aggregator uses it only
 * once it has had to forget entries to stay within its memory bound.
 */
export class HyperLogLog {
  readonly #p: number;
  readonly #registers: Uint8Array;

  constructor(p = 14) {
    if (!Number.isInteger(p) || p < 4 || p > 18) throw new RangeError(`expected a precision between 4 and 18, got ${p}`);
    this.#p = p;
    this.#registers = new Uint8Array(1 << p);
  }

  add(text: string): void {
    const [h1, h2] = hash2(text);
    this.addHashes(h1, h2);
  }

  /** Adds an item by two independent 32-bit hashes of it (one picks the register, one the rank). */
  addHashes(h1: number, h2: number): void {
    const index = h1 >>> (32 - this.#p);
    const rank = Math.clz32(h2) + 1; // 1..33
    if (rank > this.#registers[index]!) this.#registers[index] = rank;
  }

  /** The estimated number of distinct strings added. */
  estimate(): number {
    const registers = this.#registers;
    const m = registers.length;
    let sum = 0;
    let zeros = 0;
    for (let i = 0; i < m; i++) {
      const r = registers[i]!;
      sum += 2 ** -r;
      if (r === 0) zeros++;
    }
    const alpha = 0.7213 / (1 + 1.079 / m);
    const raw = (alpha * m * m) / sum;
    if (raw <= 2.5 * m && zeros > 0) return Math.round(m * Math.log(m / zeros));
    return Math.round(raw);
  }

  /** The relative standard error of {@link estimate}. */
  get standardError(): number {
    return 1.04 / Math.sqrt(this.#registers.length);
  }
}
