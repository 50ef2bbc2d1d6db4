/**
 * `@fanout/agents`: coding agents deployed in parallel, each in its own git worktree, as one
 * fanout plan — presets for Claude Code, Codex, Gemini CLI, opencode, aider and any command,
 * their event streams normalised, worktrees made and cleaned up safely, the plan builder,
 * per-provider limits and rate-limit pauses, budgets, the conflict matrix, the integration
 * merge and the report.
 * @module
 */
export { AgentsError, classifyAgentsError, type AgentsErrorCode, type AgentsErrorOptions } from './errors.js';
export { addUsage, subtractUsage, totalTokens, zeroUsage, type TokenUsage } from './usage.js';
export { jsonObject, type AgentEvent, type AgentLaunch, type AgentPreset, type AgentVerdict, type LaunchContext, type ProcessExit, type StreamParser } from './preset.js';
export { BUILTIN_PRESETS, aiderPreset, claudePreset, codexPreset, commandPreset, geminiPreset, opencodePreset, textParser, type AgentDialect, type CommandPresetOptions } from './presets/index.js';
export { resetFromField, resetFromText, saysRateLimited } from './rate-limit.js';
export { splitWords } from './argv.js';
export { looksLikePrompt, runAgentProcess, type AgentProcessOptions, type AgentProcessResult } from './agent-process.js';
export { ProviderGates, type GateEvent, type ProviderGatesOptions } from './provider-gates.js';
export { AgentsBudget, type BudgetLimits, type BudgetSpent } from './budget.js';
export { commandNotifier, type AgentNotice, type CommandNotifierOptions, type Notifier } from './notify.js';
export { git, requireGit, type GitContext, type GitOutput } from './git.js';
export { addWorktree, checkoutWorktree, copyIncluded, listWorktrees, registerWorktree, removeWorktree, type CheckoutInfo, type WorktreeEntry, type WorktreeInfo, type WorktreeSpec } from './worktree.js';
export { readAgentState, type AgentState } from './agent-state.js';
export { diskUsage } from './disk-usage.js';
export { collectBranch, parseNumstat, type CollectOutput, type FileChange } from './collect.js';
export { conflictMatrix, mergeConflicts, pathsMeet, type BranchOf, type ConflictMatrix, type ConflictPair } from './conflicts.js';
export { mergeBranches, type MergeOutput, type MergeSpec } from './merge.js';
export {
  AGENTS_KIND_CLASSES,
  agentsLimits,
  createAgentsAdapters,
  agentInputSchema,
  checkoutInputSchema,
  gitInputSchema,
  stepInputSchema,
  type AgentFlag,
  type AgentOutput,
  type AgentProgress,
  type AgentsAdapters,
  type AgentsAdaptersOptions,
  type AgentsLimitsOptions,
  type StepOutput,
} from './adapters/index.js';
export { parseAgentChoices, parseTasks, taskSlug, tasksFromPrompts, type AgentChoice, type AgentTask } from './tasks.js';
export { agentsPlanName, defaultWorktreesDir, planAgents, previousRunOf, type AgentSlot, type AgentsPlan, type AgentsRunInfo, type AgentsSpec, type PlanAgentsOptions } from './plan.js';
export { agentsReport, type AgentReport, type AgentsReport, type StepState } from './report.js';
export { renderAgentsHtml, renderAgentsMarkdown, renderAgentsText } from './render.js';
export { cleanAgents, type CleanEntry, type CleanOptions, type CleanReport } from './clean.js';
export { runAgents, type AgentsRunResult, type RunAgentsOptions } from './run.js';
