// `npm run build`: dist/main.js, its chunks and the .wasm (see bundle.mjs). VERSION (env) is injected
// as the plugin version, the analogue of Go's -ldflags -X ...Version=.
import { bundle } from './bundle.mjs';

const version = process.env.VERSION || 'development';
await bundle({ outdir: 'dist', version });
console.error(`built dist/main.js (version ${version})`);
