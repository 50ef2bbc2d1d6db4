/**
 * Tokens and cost, normalised across agent CLIs. Each reports them its own way (Claude per
 * message and in its final result, Codex per turn with cached input inside input, opencode per
 * step), so every preset turns its figures into this one shape, and totals add up.
 */

/** Tokens an agent used, in four disjoint parts. */
export interface TokenUsage {
  /** Input tokens that were not read from a prompt cache. */
  input: number;
  output: number;
  /** Input tokens read from a prompt cache. */
  cacheRead: number;
  /** Input tokens written to a prompt cache. */
  cacheWrite: number;
}

/** A fresh, all-zero usage. */
export function zeroUsage(): TokenUsage {
  return { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 };
}

/** Every token counted: input, output and both cache parts (what a token budget counts). */
export function totalTokens(usage: TokenUsage): number {
  return usage.input + usage.output + usage.cacheRead + usage.cacheWrite;
}

/** `into += add`, part by part; returns `into`. */
export function addUsage(into: TokenUsage, add: TokenUsage): TokenUsage {
  into.input += add.input;
  into.output += add.output;
  into.cacheRead += add.cacheRead;
  into.cacheWrite += add.cacheWrite;
  return into;
}

/** `a - b`, part by part, never below zero. */
export function subtractUsage(a: TokenUsage, b: TokenUsage): TokenUsage {
  return {
    input: Math.max(0, a.input - b.input),
    output: Math.max(0, a.output - b.output),
    cacheRead: Math.max(0, a.cacheRead - b.cacheRead),
    cacheWrite: Math.max(0, a.cacheWrite - b.cacheWrite),
  };
}

/** A non-negative finite number from an untrusted field, else 0. */
export function count(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : 0;
}
