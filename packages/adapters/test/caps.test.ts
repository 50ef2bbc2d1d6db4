import { describe, expect, it } from 'vitest';
import { ByteCap } from '../src/index.js';

describe('ByteCap', () => {
  it('keeps up to the cap and says what was cut', () => {
    const cap = new ByteCap(5);
    expect(cap.push('abc')).toBe(true);
    expect(cap.push('defg')).toBe(false);
    expect(cap.text()).toBe('abcde');
    expect(cap.truncated).toBe(true);
    expect(cap.seen).toBe(7);
  });

  it('never cuts a character in half', () => {
    const cap = new ByteCap(4);
    cap.push('aé€'); // 1 + 2 + 3 bytes
    expect(cap.text()).toBe('aé');
    const exact = new ByteCap(3);
    exact.push('aé');
    expect(exact.truncated).toBe(false);
    expect(exact.text()).toBe('aé');
  });
});
