// Reading images without the engine: tar layers, an OCI layout (index, manifests, configs, layers),
// paths in the merged file tree, and ELF headers.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { check } from './output.js';

export interface TarEntry {
  path: string;
  type: 'file' | 'dir' | 'symlink' | 'hardlink' | 'other';
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  linkname: string;
  data: Buffer;
}

export interface Layer {
  digest: string;
  mediaType: string;
  blob: Buffer;
  entries: TarEntry[];
  /** gzip-compressed size: the blob's own size when it is gzip already, else gzip -6 of it */
  gzipSize: number;
  tarSize: number;
}

export interface OciImage {
  platform: string;
  arch: string;
  config: {
    architecture: string;
    os: string;
    config: {
      User?: string;
      Entrypoint?: string[];
      Cmd?: string[];
      Labels?: Record<string, string>;
      ExposedPorts?: Record<string, unknown>;
      Env?: string[];
    };
    rootfs: { diff_ids: string[] };
  };
  layers: Layer[];
  /** merged view of all layers (later layers win; whiteouts applied) */
  files: Map<string, TarEntry>;
}

export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

function tarNumber(field: Buffer): number {
  if (field[0]! & 0x80) {
    let n = 0;
    for (let i = 1; i < field.length; i++) n = n * 256 + field[i]!;
    return n;
  }
  const text = field.toString('latin1').replace(/\0.*$/s, '').trim();
  return text ? parseInt(text, 8) : 0;
}

/** A NUL-terminated string (tar header fields, ELF string tables). */
function cString(field: Buffer): string {
  const nul = field.indexOf(0);
  return field.subarray(0, nul < 0 ? field.length : nul).toString('utf8');
}

function normalize(path: string): string {
  return posix.normalize(`/${path}`).slice(1).replace(/\/$/, '');
}

/** The records of a PAX extended header ("LEN key=value\n" each). */
function parsePax(data: Buffer): Record<string, string> {
  const pax: Record<string, string> = {};
  const text = data.toString('utf8');
  let i = 0;
  while (i < text.length) {
    const space = text.indexOf(' ', i);
    const len = Number(text.slice(i, space));
    const record = text.slice(space + 1, i + len - 1);
    const eq = record.indexOf('=');
    pax[record.slice(0, eq)] = record.slice(eq + 1);
    i += len;
  }
  return pax;
}

function entryType(flag: string): TarEntry['type'] {
  if (flag === '0' || flag === '\0' || flag === '7') return 'file';
  if (flag === '5') return 'dir';
  if (flag === '2') return 'symlink';
  if (flag === '1') return 'hardlink';
  return 'other';
}

/** Parses a (possibly gzip-compressed) tar: ustar, PAX and GNU long names. */
export function readTar(blob: Buffer): TarEntry[] {
  const tar = blob[0] === 0x1f && blob[1] === 0x8b ? gunzipSync(blob) : blob;
  const entries: TarEntry[] = [];
  let pos = 0;
  let pax: Record<string, string> = {};
  let longName: string | undefined;
  let longLink: string | undefined;
  while (pos + 512 <= tar.length) {
    const h = tar.subarray(pos, pos + 512);
    if (h.every((b) => b === 0)) break;
    let size = tarNumber(h.subarray(124, 136));
    const flag = String.fromCharCode(h[156]!);
    if (pax.size) size = Number(pax.size);
    const data = tar.subarray(pos + 512, pos + 512 + size);
    pos += 512 + Math.ceil(size / 512) * 512;
    if (flag === 'x') {
      pax = parsePax(data);
      continue;
    }
    if (flag === 'g') continue;
    if (flag === 'L') {
      longName = cString(data);
      continue;
    }
    if (flag === 'K') {
      longLink = cString(data);
      continue;
    }
    const prefix = h.subarray(257, 262).toString('latin1') === 'ustar' ? cString(h.subarray(345, 500)) : '';
    const name = pax.path ?? longName ?? (prefix ? `${prefix}/${cString(h.subarray(0, 100))}` : cString(h.subarray(0, 100)));
    entries.push({
      path: normalize(name),
      type: entryType(flag),
      mode: tarNumber(h.subarray(100, 108)) & 0o7777,
      uid: pax.uid ? Number(pax.uid) : tarNumber(h.subarray(108, 116)),
      gid: pax.gid ? Number(pax.gid) : tarNumber(h.subarray(116, 124)),
      mtime: pax.mtime ? Math.floor(Number(pax.mtime)) : tarNumber(h.subarray(136, 148)),
      linkname: pax.linkpath ?? longLink ?? cString(h.subarray(157, 257)),
      data,
    });
    pax = {};
    longName = undefined;
    longLink = undefined;
  }
  return entries;
}

function readLayer(digest: string, mediaType: string, data: Buffer): Layer {
  check(!mediaType.includes('zstd'), `layer ${digest} is gzip or plain tar (${mediaType})`);
  const gz = data[0] === 0x1f && data[1] === 0x8b;
  const tarData = gz ? gunzipSync(data) : data;
  return {
    digest,
    mediaType,
    blob: data,
    entries: readTar(tarData),
    gzipSize: gz ? data.length : gzipSync(data).length,
    tarSize: tarData.length,
  };
}

/** The merged file tree of the layers, bottom first: later entries win, whiteouts delete. */
function mergeLayers(layers: Layer[]): Map<string, TarEntry> {
  const files = new Map<string, TarEntry>();
  for (const layer of layers) {
    for (const e of layer.entries) {
      const base = posix.basename(e.path);
      if (base === '.wh..wh..opq') {
        const parent = posix.dirname(e.path);
        for (const k of [...files.keys()]) if (k.startsWith(`${parent}/`)) files.delete(k);
      } else if (base.startsWith('.wh.')) {
        const gone = posix.join(posix.dirname(e.path), base.slice(4));
        for (const k of [...files.keys()]) if (k === gone || k.startsWith(`${gone}/`)) files.delete(k);
      } else {
        files.set(e.path, e);
      }
    }
  }
  return files;
}

/** Every image in an OCI layout directory, following nested indexes. */
export function readOciLayout(dir: string): OciImage[] {
  const blob = (digest: string) => readFileSync(join(dir, 'blobs', ...digest.split(':')));
  const images: OciImage[] = [];
  const visit = (desc: { mediaType: string; digest: string; platform?: { architecture: string; os: string } }) => {
    const doc = JSON.parse(blob(desc.digest).toString('utf8'));
    const mediaType: string = doc.mediaType ?? desc.mediaType;
    if (mediaType.includes('index') || mediaType.includes('manifest.list')) {
      for (const m of doc.manifests) visit(m);
      return;
    }
    const config = JSON.parse(blob(doc.config.digest).toString('utf8'));
    const layers: Layer[] = doc.layers.map((l: { digest: string; mediaType: string }) => readLayer(l.digest, l.mediaType, blob(l.digest)));
    images.push({ platform: `${config.os}/${config.architecture}`, arch: config.architecture, config, layers, files: mergeLayers(layers) });
  };
  for (const m of JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')).manifests) visit(m);
  return images;
}

/** Resolves symlinks (in every path component) inside an image's merged file tree. */
export function resolveIn(files: Map<string, TarEntry>, path: string): TarEntry | undefined {
  let parts = normalize(path).split('/').filter(Boolean);
  for (let hops = 0, i = 0; i < parts.length; i++) {
    const prefix = parts.slice(0, i + 1).join('/');
    const e = files.get(prefix);
    if (!e) return undefined;
    if (e.type === 'symlink') {
      if (++hops > 40) return undefined;
      const target = e.linkname.startsWith('/') ? e.linkname : posix.join(posix.dirname(`/${prefix}`), e.linkname);
      parts = [...normalize(target).split('/').filter(Boolean), ...parts.slice(i + 1)];
      i = -1;
    } else if (e.type === 'hardlink') {
      const target = files.get(normalize(e.linkname));
      if (!target) return undefined;
      if (i === parts.length - 1) return target;
    } else if (i === parts.length - 1) {
      return e;
    }
  }
  return undefined;
}

export interface Elf {
  machine: number;
  interp?: string;
  needed: string[];
}

/** Reads a 64-bit little-endian ELF file's machine, PT_INTERP and DT_NEEDED entries. */
export function readElf(data: Buffer): Elf | undefined {
  if (data.length < 64 || data.readUInt32BE(0) !== 0x7f454c46) return undefined;
  const machine = data.readUInt16LE(18);
  if (data[4] !== 2 || data[5] !== 1) return { machine, needed: [] };
  const phoff = Number(data.readBigUInt64LE(32));
  const phentsize = data.readUInt16LE(54);
  const phnum = data.readUInt16LE(56);
  const loads: { vaddr: number; offset: number; filesz: number }[] = [];
  let interp: string | undefined;
  let dynamic: { offset: number; size: number } | undefined;
  for (let i = 0; i < phnum; i++) {
    const p = phoff + i * phentsize;
    const type = data.readUInt32LE(p);
    const offset = Number(data.readBigUInt64LE(p + 8));
    const vaddr = Number(data.readBigUInt64LE(p + 16));
    const filesz = Number(data.readBigUInt64LE(p + 32));
    if (type === 1) loads.push({ vaddr, offset, filesz });
    if (type === 2) dynamic = { offset, size: filesz };
    if (type === 3) interp = cString(data.subarray(offset, offset + filesz));
  }
  const needed: number[] = [];
  let strtab = -1;
  if (dynamic) {
    for (let p = dynamic.offset; p + 16 <= dynamic.offset + dynamic.size; p += 16) {
      const tag = Number(data.readBigInt64LE(p));
      const val = Number(data.readBigUInt64LE(p + 8));
      if (tag === 0) break;
      if (tag === 1) needed.push(val);
      if (tag === 5) strtab = val;
    }
  }
  const toOffset = (vaddr: number) => {
    const seg = loads.find((l) => vaddr >= l.vaddr && vaddr < l.vaddr + l.filesz);
    return seg ? vaddr - seg.vaddr + seg.offset : -1;
  };
  const strOff = strtab >= 0 ? toOffset(strtab) : -1;
  const names = strOff < 0 ? [] : needed.map((n) => cString(data.subarray(strOff + n, strOff + n + 256)));
  return { machine, interp, needed: names };
}
