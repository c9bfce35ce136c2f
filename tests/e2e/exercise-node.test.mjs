// Exercises in Node, through the built wasm package (www/pkg) as a grader
// or a course's build script would use it: runText prints what `vmplay run`
// prints and reports each `expect` line's verdict. The shared exercise
// (tests/exercises/) passes and fails exactly as in the CLI, wasm-pack test
// and the page; every lesson's exercise passes. Needs `make build`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { repoRoot, wwwDir } from './harness.mjs';

const pkg = path.join(wwwDir, 'pkg');
const vm = await import(pathToFileURL(path.join(pkg, 'vmwasm.js')).href);
vm.initSync({ module: fs.readFileSync(path.join(pkg, 'vmwasm_bg.wasm')) });

const exercise = (name) => ({
  vms: fs.readFileSync(path.join(repoRoot, 'tests/exercises', `${name}.vms`), 'utf8'),
  out: fs.readFileSync(path.join(repoRoot, 'tests/exercises', `${name}.out`), 'utf8'),
});

function runText(text) {
  const m = new vm.Machine({ frames: 4096 });
  try {
    return m.runText(text);
  } finally {
    m.free();
  }
}

test('the exercise answered right: runText prints the CLI output and every expectation passes', () => {
  const { vms, out } = exercise('cow_fork_pass');
  const r = runText(vms);
  assert.equal(r.error, null);
  assert.equal(r.text, out);
  assert.equal(r.expectations.length, 8);
  assert.ok(r.expectations.every((e) => e.passed), JSON.stringify(r.expectations));
});

test('the exercise answered wrong: the same three expectations fail, with what was found', () => {
  const { vms, out } = exercise('cow_fork_fail');
  const r = runText(vms);
  assert.equal(r.text, out);
  const failed = r.expectations.filter((e) => !e.passed).map((e) => [e.line, e.what, e.expected, e.found]);
  assert.deepEqual(failed, [
    [10, 'line 6 events', 'cow_copy=0 zero_fill=1', 'cow_copy=1 zero_fill=0'],
    [11, 'line 7 result', '0x42', '0x41'],
    [13, 'mincore of 2 pages at 0x300000000000', '11', '10'],
  ]);
  // the line's own output says the same, and marks it failed
  const line11 = r.outputs.find((o) => o.line === 11);
  assert.equal(line11.failure, 'expectation');
  assert.equal(line11.result, 'FAIL line 7 result: expected 0x42, found 0x41');
});

test('a malformed expectation is an error of its line, not a verdict', () => {
  const r = runText('$a = mmap $arena 4K PROT_READ MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED -1 0\nexpect pte $a XX\n');
  assert.equal(r.error.line, 2);
  assert.match(r.error.message, /unknown PTE bit 'XX'/);
  assert.deepEqual(r.expectations, []);
});

test('every lesson exercise passes in Node', () => {
  const dir = path.join(wwwDir, 'lessons', 'scenarios');
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.vms'));
  assert.ok(files.length >= 10);
  for (const f of files) {
    const r = runText(fs.readFileSync(path.join(dir, f), 'utf8'));
    assert.equal(r.error, null, f);
    assert.ok(r.expectations.length >= 3, f);
    const bad = r.expectations.filter((e) => !e.passed);
    assert.deepEqual(bad, [], f);
  }
});
