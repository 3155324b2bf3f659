// A local directory as the store: same listing, naming and reading as S3, for previews and demos.
import { open, readdir, stat } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { newStats, ObjectError, StoreError, type ByteSource, type ObjectInfo, type Store, type StoreStats } from './types.js';

const PAGE_SIZE = 1000;

export class LocalStore implements Store {
  readonly stats: StoreStats = newStats();
  readonly location: string;
  private readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
    this.location = `local directory ${this.root}`;
  }

  uri(key: string): string {
    return `file://${join(this.root, key)}`;
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo[]> {
    this.stats.listRequests++;
    let entries: string[];
    try {
      if (!(await stat(this.root)).isDirectory()) throw new Error('not a directory');
      entries = await readdir(this.root, { recursive: true });
    } catch (err) {
      throw new StoreError(`local_path ${this.root} cannot be read (${(err as Error).message}); check the path`, 'not_found');
    }
    const keys = entries
      .map((entry) => entry.split(sep).join('/'))
      .filter((key) => key.startsWith(prefix))
      .sort();
    let page: ObjectInfo[] = [];
    for (const key of keys) {
      const info = await stat(join(this.root, key)).catch(() => undefined);
      if (!info?.isFile()) continue;
      page.push({ key, size: info.size, lastModified: info.mtime, etag: `${info.size}-${info.mtimeMs}` });
      if (page.length === PAGE_SIZE) {
        yield page;
        page = [];
      }
    }
    yield page;
  }

  open(object: ObjectInfo): ByteSource {
    const path = join(this.root, object.key);
    if (relative(this.root, path).startsWith('..'))
      throw new ObjectError(`${object.key} is outside ${this.root}`, object.key, 'read_failed');
    return {
      key: object.key,
      size: object.size,
      read: async (start, end) => {
        this.stats.getRequests++;
        const handle = await open(path, 'r').catch((err: NodeJS.ErrnoException) => {
          throw new ObjectError(
            `${this.uri(object.key)} cannot be opened: ${err.code ?? err.message}`,
            object.key,
            err.code === 'ENOENT' ? 'gone' : 'read_failed',
          );
        });
        try {
          const info = await handle.stat();
          if (`${info.size}-${info.mtimeMs}` !== object.etag) {
            throw new ObjectError(`${this.uri(object.key)} changed while it was being read`, object.key, 'changed');
          }
          const buffer = new Uint8Array(end - start);
          const { bytesRead } = await handle.read(buffer, 0, buffer.length, start);
          this.stats.bytesRead += bytesRead;
          return bytesRead === buffer.length ? buffer : buffer.subarray(0, bytesRead);
        } finally {
          await handle.close();
        }
      },
    };
  }

  close(): void {}
}
