// Types of the vmplay package: the headless API (Node), the wasm module's
// own types (Machine and its views, re-exported), and the <vm-playground>
// element with its events (browsers).

import type { LineOutput, MachineOptions } from '../pkg/vmwasm.js';
export * from '../pkg/vmwasm.js';

// ---- Node: headless ---------------------------------------------------------

/** The wasm module, instantiated once (call before runScenario). */
export function load(): Promise<typeof import('../pkg/vmwasm.js')>;
/** What a scenario printed, line by line; `text` is exactly what `vmplay run` prints. */
export interface ScenarioRun {
  outputs: LineOutput[];
  error: { line: number; message: string } | null;
  text: string;
}
/** Run a .vms text on a fresh machine (4096 frames unless `options` say otherwise). */
export function runScenario(text: string, options?: MachineOptions): ScenarioRun;
/** The text of an example scenario of the package ('cow_fork.vms', or its recorded 'cow_fork.out'). */
export function scenario(name: string): Promise<string>;
/** The example scenarios as the gallery lists them. */
export function scenarios(): Promise<{ file: string; title: string }[]>;
/** Every file of the package's scenarios folder. */
export function scenarioFiles(): Promise<string[]>;

// ---- browsers: the element ----------------------------------------------------

/** `vm-step`: the machine moved (a step, a run, Back, a reset). */
export interface VmStepDetail {
  /** The last executed line (0: fresh machine). */
  line: number;
  /** Steps taken since the reset (editor and console lines). */
  steps: number;
  /** The next line to execute, 0 at the end. */
  next: number;
  /** The last step taken, or null after a reset. */
  step: { line: number; source: 'editor' | 'console'; text: string; ok: boolean; result: string; failure: string | null } | null;
}
/** One checked answer or expectation. */
export interface VmExerciseResult {
  label: string;
  passed: boolean;
  answered?: string;
  expected?: string;
  [field: string]: unknown;
}
/** `vm-exercise`: results of an exercise (kind "predict": one predicted line). */
export interface VmExerciseDetail {
  kind: string;
  line?: number;
  results: VmExerciseResult[];
  passed: number;
  total: number;
  score?: { right: number; asked: number };
  [field: string]: unknown;
}
/** The state a permalink holds (format version 1). */
export interface LinkState {
  sim: string;
  text: string;
  machine: { frames: number; tlbSets: number; tlbWays: number; personality: string; [option: string]: unknown };
  line: number;
  sel: { pid: number; entry: [number, number] | null; page: [number, number] | null; frame: number | null };
  views: string[] | null;
  tab: 'walk' | 'tlb';
  table: boolean;
  out: string;
}

/**
 * <vm-playground>. Attributes: scenario, label (required: the accessible
 * title), frames, tlb-sets, tlb-ways, personality, autorun, step, views,
 * readonly, spoiler, predict, no-gallery, gallery, autosave, permalink,
 * share-base.
 */
export declare class VmPlayground extends HTMLElement {
  /** Replace the scenario and start from a fresh machine. */
  setScenario(text: string): void;
  run(): Promise<void> | undefined;
  step(): void;
  stepBack(): void;
  reset(): void;
  /** Run every line up to `line`. */
  runTo(line: number): Promise<void> | undefined;
  /** The state a permalink would hold. */
  linkState(): LinkState;
  /** The Share dialog's texts: link, frame URL, iframe and element snippets. */
  shareTexts(): Promise<{ code: string; link: string; frame: string; iframe: string; snippet: string }>;
  /** Fire `vm-exercise` with these results (for exercise checkers). */
  reportExercise(detail: { kind: string; results: VmExerciseResult[]; [field: string]: unknown }): VmExerciseDetail;
}

declare global {
  interface HTMLElementTagNameMap {
    'vm-playground': VmPlayground;
  }
  interface HTMLElementEventMap {
    'vm-ready': CustomEvent<{ version: string }>;
    'vm-step': CustomEvent<VmStepDetail>;
    'vm-error': CustomEvent<Error>;
    'vm-exercise': CustomEvent<VmExerciseDetail>;
  }
}
