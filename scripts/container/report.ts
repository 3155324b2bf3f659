// Sizes of the images, and the summary printed at the end of a passing run.
import { APP_LAYER_LIMIT, type Arch } from './config.js';
import type { OciImage } from './oci.js';
import { check, mib, notes, proved, say } from './output.js';

/** Checks the app layer's size limit and describes the sizes of one platform's image. */
export function imageSizes(img: OciImage, arch: Arch): string {
  const app = img.layers[img.layers.length - 1]!;
  const total = img.layers.reduce((n, l) => n + l.gzipSize, 0);
  const totalTar = img.layers.reduce((n, l) => n + l.tarSize, 0);
  check(app.gzipSize < APP_LAYER_LIMIT, `${arch}: app layer ${mib(app.gzipSize)} gzip < 5 MiB`);
  return `${arch}: app layer ${mib(app.gzipSize)} gzip (${mib(app.tarSize)} as tar); whole image with the stand-in base ${mib(total)} gzip (${mib(totalTar)} unpacked)`;
}

export function printSummary(sizes: string[]): void {
  say('');
  say(`PROVED (${proved.length}):`);
  for (const p of proved) process.stdout.write(`  - ${p}\n`);
  say('SIZES:');
  for (const s of sizes) process.stdout.write(`  - ${s}\n`);
  if (notes.length) {
    say('NOTES:');
    for (const n of notes) process.stdout.write(`  - ${n}\n`);
  }
}
