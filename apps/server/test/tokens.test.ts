/**
 * The bearer-token check (security.ts `Tokens`) on its own: which token of several a request
 * carries, and the refusal of every other — wrong tokens of the same length as a right one (so
 * a length check alone would not refuse them) and of other lengths. That the comparison takes
 * the same time whatever is sent is not something a test can observe; what it decides is.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ServerError } from '../src/errors.js';
import { Tokens } from '../src/security.js';

const FIRST = 'first-token-0123456789abcdef';
const SECOND = 'second-token-0123456789abcdef!';
const THIRD = 'third-token-0123456789abcdef';
const tokens = new Tokens([FIRST, SECOND, THIRD]);

/** The principal a token stands for: the first 6 bytes of its SHA-256, in hex. */
const principalOf = (token: string): string => createHash('sha256').update(token).digest().subarray(0, 6).toString('hex');

/** The ServerError `principal` throws for `authorization`, or a failure saying it accepted it. */
function refusal(authorization: string | undefined): ServerError {
  try {
    const principal = tokens.principal(authorization);
    throw new Error(`expected ${JSON.stringify(authorization)} to be refused, got principal ${principal}`);
  } catch (error) {
    if (!(error instanceof ServerError)) throw error;
    return error;
  }
}

describe('Tokens', () => {
  it('accepts each of several tokens, each as a principal of its own', () => {
    expect(tokens.required).toBe(true);
    expect(tokens.principal(`Bearer ${FIRST}`)).toBe(principalOf(FIRST));
    // Not only the first: the middle and the last one are found too.
    expect(tokens.principal(`Bearer ${SECOND}`)).toBe(principalOf(SECOND));
    expect(tokens.principal(`Bearer ${THIRD}`)).toBe(principalOf(THIRD));
    expect(new Set([FIRST, SECOND, THIRD].map(principalOf)).size).toBe(3);
    // The scheme is case-insensitive and trailing white space is not part of the token.
    expect(tokens.principal(`bearer ${SECOND}  `)).toBe(principalOf(SECOND));
  });

  it.each([
    ['the first token with its last character changed', `${FIRST.slice(0, -1)}g`],
    ['the second token with its first character changed', `X${SECOND.slice(1)}`],
    ['the third token in upper case', THIRD.toUpperCase()],
  ])('refuses a wrong token as long as a right one: %s', (_, wrong) => {
    expect([FIRST, SECOND, THIRD].map((t) => t.length)).toContain(wrong.length);
    const error = refusal(`Bearer ${wrong}`);
    expect(error.code).toBe('FANOUT_SERVER_UNAUTHORIZED');
    expect(error.message).toBe('expected a token this server was started with, got another one');
  });

  it.each([
    ['a right token with a character more', `${FIRST}x`],
    ['a right token short of its last character', SECOND.slice(0, -1)],
    ['a prefix of a right token', FIRST.slice(0, 5)],
    ['two right tokens run together', `${FIRST}${THIRD}`],
    ['a one-character token', 'f'],
  ])('refuses a wrong token of another length: %s', (_, wrong) => {
    const error = refusal(`Bearer ${wrong}`);
    expect(error.code).toBe('FANOUT_SERVER_UNAUTHORIZED');
    expect(error.message).toBe('expected a token this server was started with, got another one');
  });

  it('refuses a request without a bearer token, saying what it got', () => {
    expect(refusal(undefined).message).toBe('expected an "Authorization: Bearer <token>" header, got none');
    expect(refusal(`Basic ${Buffer.from(`user:${FIRST}`).toString('base64')}`).message).toBe('expected an "Authorization: Bearer <token>" header, got another scheme');
    // A right token without the scheme, and the scheme without a token.
    expect(refusal(FIRST).code).toBe('FANOUT_SERVER_UNAUTHORIZED');
    expect(refusal('Bearer ').code).toBe('FANOUT_SERVER_UNAUTHORIZED');
    expect(refusal(`Bearer ${FIRST} ${SECOND}`).code).toBe('FANOUT_SERVER_UNAUTHORIZED');
  });

  it('without tokens requires none: every request is the principal "local"', () => {
    const none = new Tokens([]);
    expect(none.required).toBe(false);
    expect(none.principal(undefined)).toBe('local');
    expect(none.principal(`Bearer ${FIRST}`)).toBe('local');
  });
});
