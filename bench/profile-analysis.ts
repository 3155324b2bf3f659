// Reading a .cpuprofile of the plugin's unminified bundle: self time by function and by module (npm package or
// src/ file), and time under each src/ function.
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ROOT } from './util.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileAnalysis {
  file: string;
  totalMs: number;
  idleMs: number;
  top: { fn: string; module: string; selfMs: number; pct: number }[];
  modules: { module: string; selfMs: number; pct: number }[];
  /** Time by the innermost src/ function on the stack (self + callees), else by the leaf's module. */
  callers: { caller: string; ms: number; pct: number }[];
}

interface Tally {
  fns: Map<string, { fn: string; module: string; selfMs: number }>;
  moduleMs: Map<string, number>;
  callerMs: Map<string, number>;
  totalMs: number;
}

export function analyzeProfile(path: string, bundleDir: string): ProfileAnalysis {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const moduleOf = bundleModules(bundleDir);
  const modules = new Map<number, string>(profile.nodes.map((n) => [n.id, moduleOf(n.callFrame)]));
  const tally = tallyProfile(profile, modules);
  const idleMs = tally.moduleMs.get('(idle)') ?? 0;
  const busy = tally.totalMs - idleMs;
  const pct = (ms: number) => (100 * ms) / busy;
  return {
    file: relative(ROOT, path),
    totalMs: tally.totalMs,
    idleMs,
    top: [...tally.fns.values()]
      .filter((f) => f.module !== '(idle)')
      .sort((a, b) => b.selfMs - a.selfMs)
      .slice(0, 25)
      .map((f) => ({ ...f, pct: pct(f.selfMs) })),
    modules: [...tally.moduleMs]
      .filter(([m]) => m !== '(idle)')
      .sort((a, b) => b[1] - a[1])
      .map(([module, selfMs]) => ({ module, selfMs, pct: pct(selfMs) })),
    callers: [...tally.callerMs]
      .filter(([c]) => !c.endsWith('(idle)'))
      .sort((a, b) => b[1] - a[1])
      .slice(0, 20)
      .map(([caller, ms]) => ({ caller, ms, pct: pct(ms) })),
  };
}

/** Self time of every sample, added up by function, by module and by the innermost src/ function above it. */
function tallyProfile(profile: CpuProfile, modules: Map<number, string>): Tally {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const child of n.children ?? []) parent.set(child, n.id);
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000));
  const tally: Tally = { fns: new Map(), moduleMs: new Map(), callerMs: new Map(), totalMs: 0 };
  for (const [id, ms] of self) {
    const { callFrame } = byId.get(id)!;
    const module = modules.get(id)!;
    const fn = callFrame.functionName || '(anonymous)';
    const key = `${fn}\u0000${module}\u0000${callFrame.lineNumber}`;
    const entry = tally.fns.get(key) ?? { fn, module, selfMs: 0 };
    entry.selfMs += ms;
    tally.fns.set(key, entry);
    tally.moduleMs.set(module, (tally.moduleMs.get(module) ?? 0) + ms);
    tally.totalMs += ms;
    // The innermost frame of our own code above this sample.
    let caller: string | undefined;
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const m = modules.get(at)!;
      if (m.startsWith('src/')) {
        caller = `${m} ${byId.get(at)!.callFrame.functionName || '(anonymous)'}`;
        break;
      }
    }
    caller ??= `(no src/ frame) ${module}`;
    tally.callerMs.set(caller, (tally.callerMs.get(caller) ?? 0) + ms);
  }
  return tally;
}

/** The module of a call frame: an npm package or src/ file inside the bundle, else wasm, node: or native. */
function bundleModules(bundleDir: string): (callFrame: ProfileNode['callFrame']) => string {
  const bundlePrefix = new URL(`file://${bundleDir}/`).href;
  const markers = new Map<string, { line: number; module: string }[]>();
  const moduleAt = (url: string, line: number): string => {
    let marks = markers.get(url);
    if (!marks) {
      marks = moduleMarkers(fileURLToPath(url));
      markers.set(url, marks);
    }
    let lo = 0;
    let hi = marks.length - 1;
    let found = 'bundle';
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (marks[mid]!.line <= line) {
        found = marks[mid]!.module;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  };
  return (callFrame) => {
    if (callFrame.url.startsWith(bundlePrefix)) return moduleAt(callFrame.url, callFrame.lineNumber);
    if (callFrame.url.startsWith('wasm://')) return 'parquet-wasm (wasm)';
    if (callFrame.url.startsWith('node:')) return 'node:' + callFrame.url.slice(5).split('/')[0];
    if (callFrame.url === '') return callFrame.functionName.startsWith('(') ? callFrame.functionName : '(native)';
    return callFrame.url;
  };
}

/** Where each module starts in a bundle file: esbuild marks it with a `// node_modules/pkg/file.js` or `// src/file.ts` line. */
function moduleMarkers(file: string): { line: number; module: string }[] {
  const marks: { line: number; module: string }[] = [];
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((text, index) => {
      const match = /^\/\/ (\S*(?:node_modules|src)\/\S+\.[cm]?[jt]s)$/.exec(text);
      if (match) marks.push({ line: index, module: moduleName(match[1]!) });
    });
  return marks;
}

function moduleName(path: string): string {
  const nm = path.lastIndexOf('node_modules/');
  if (nm < 0) return path.slice(Math.max(0, path.indexOf('src/')));
  const parts = path.slice(nm).split('/');
  return parts[1]!.startsWith('@') ? `${parts[1]}/${parts[2]}` : parts[1]!;
}
