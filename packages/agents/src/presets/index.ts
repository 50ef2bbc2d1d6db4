/** The built-in presets, by name. */
import type { AgentPreset } from '../preset.js';
import { aiderPreset } from './aider.js';
import { claudePreset } from './claude.js';
import { codexPreset } from './codex.js';
import { geminiPreset } from './gemini.js';
import { opencodePreset } from './opencode.js';

/** Every built-in preset: `claude`, `codex`, `gemini`, `opencode`, `aider`. */
export const BUILTIN_PRESETS: Readonly<Record<string, AgentPreset>> = {
  claude: claudePreset,
  codex: codexPreset,
  gemini: geminiPreset,
  opencode: opencodePreset,
  aider: aiderPreset,
};

export { aiderPreset, claudePreset, codexPreset, geminiPreset, opencodePreset };
export { commandPreset, type AgentDialect, type CommandPresetOptions } from './command.js';
export { textParser } from './text.js';
