// The spawn server's workers and directory (src/spawner.ts) are let go at Node's exit, which
// a test runner's worker does not reach: each test file closes them itself.
import { afterAll } from 'vitest';
import { closeSpawner } from '../src/spawner.js';

afterAll(() => closeSpawner());
