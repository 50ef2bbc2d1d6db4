/**
 * aider: `aider --message=<prompt> --yes-always --no-pretty --no-stream`. It prints no JSON:
 * its output is text, success is exit 0, and its work is read from git (it commits as it
 * goes; what it leaves uncommitted is committed by the collect step).
 */
import type { AgentPreset } from '../preset.js';
import { textParser } from './text.js';

/** aider, always saying yes (headless), without colours or streaming. */
export const aiderPreset: AgentPreset = {
  name: 'aider',
  provider: 'aider',
  resumes: false,
  launch(context) {
    // The `=` form: a task that starts with "-" cannot be read as an option.
    return { file: 'aider', args: [`--message=${context.prompt}`, '--yes-always', '--no-pretty', '--no-stream', ...context.extraArgs] };
  },
  parser: () => textParser('aider'),
};
