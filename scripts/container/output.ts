// Progress lines on stdout, the list of what was proved, the run log, and the check() assertion.
import { writeFileSync } from 'node:fs';

export const started = Date.now();
export const proved: string[] = [];
export const notes: string[] = [];
let logFile = '';

export const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
export const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(2)} MiB`;

/** Starts the run log: every command and its output go there, the progress lines to stdout. */
export function openLog(path: string): void {
  logFile = path;
  writeFileSync(logFile, `container test ${new Date().toISOString()}\n`);
}
export function logPath(): string {
  return logFile;
}
export function say(line: string): void {
  process.stdout.write(`[${secs(Date.now() - started).padStart(7)}] ${line}\n`);
}
export function prove(statement: string): void {
  proved.push(statement);
  say(`ok: ${statement}`);
}
export function log(text: string): void {
  if (logFile) writeFileSync(logFile, text.endsWith('\n') ? text : `${text}\n`, { flag: 'a' });
}
export async function step<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const t = Date.now();
  say(`${name} ...`);
  log(`\n===== ${name}`);
  const value = await fn();
  say(`${name}: done in ${secs(Date.now() - t)}`);
  return value;
}
export function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`check failed: ${message}`);
}
export function tail(text: string, lines = 40): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}
