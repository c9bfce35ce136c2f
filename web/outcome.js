// What a step's outcome means, in one place: whether it failed and how,
// from the runner's own word (LineOutput.failure), never from the text of
// its result. Every view that shows a result styles it by `failed()`.

/** A failure kind -> the sentence the output pane shows under the result. */
export const FAILURE_TEXT = {
  errno: 'The system call failed: it returned -1 and set errno to the value shown.',
  signal: 'The access raised a signal: the kernel would deliver it to the process.',
  out_of_memory: 'Out of memory: no free physical frame was left for the fault, so the access did not happen.',
  no_process: 'There is no such process.',
  killed: 'Killed: memory ran out, nothing could be reclaimed, and the OOM killer chose this process.',
  expectation: 'The expectation did not hold: this check of the exercise failed (what was expected and what was found are shown).',
  error: 'The line could not run; nothing changed.',
};

/**
 * How a step failed: 'errno', 'signal', 'out_of_memory', 'no_process',
 * 'killed', 'expectation'
 * (the runner's LineFailure), 'error' (the line could not run), or null.
 */
export function failure(step) {
  if (!step) return null;
  if (!step.ok) return 'error';
  return (step.output && step.output.failure) || null;
}

/** Whether a step failed in any way. */
export function failed(step) {
  return failure(step) !== null;
}

/** The short result a step printed: `op result`, `ok`, or `error: message`. */
export function resultText(step) {
  if (!step.ok) return `error: ${step.message}`;
  return step.output ? `${step.output.op} ${step.output.result}` : 'ok';
}
