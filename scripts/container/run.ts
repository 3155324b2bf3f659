// Child processes run to completion, their output appended to the run log.
import { spawn } from 'node:child_process';
import { log, secs, tail } from './output.js';

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  allowFail?: boolean;
  timeoutMs?: number;
}
export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion; output goes to the run log; throws on a non-zero exit unless allowFail. */
export function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  log(`$ ${cmd} ${args.join(' ')}`);
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    const timer = opts.timeoutMs
      ? setTimeout(() => {
          err.push(Buffer.from(`\n[container-test] timed out after ${secs(opts.timeoutMs!)}: killing ${child.pid}\n`));
          child.kill('SIGKILL');
        }, opts.timeoutMs)
      : undefined;
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`${cmd}: ${e.message}`));
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      const result = { code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
      log(`${result.stdout}${result.stderr}[exit ${code}]`);
      if (code !== 0 && !opts.allowFail) {
        reject(new Error(`${cmd} ${args.join(' ')} exited with ${code}\n${tail(`${result.stdout}\n${result.stderr}`)}`));
      } else {
        resolve(result);
      }
    });
  });
}

export async function commandExists(name: string): Promise<boolean> {
  return (await run('sh', ['-c', `command -v ${name}`], { allowFail: true })).code === 0;
}
