// Builds lens.wasm from lens.js with componentize-js's JS API (its `jco componentize` CLI is not
// needed). Usage: node build.mjs [WIT folder] — default ../../../wit/v0.1.0, this repository's WIT.
// Every WASI feature is disabled, so the component imports only the lens's host interface.

import { componentize } from '@bytecodealliance/componentize-js';
import { writeFile } from 'node:fs/promises';

const witPath = process.argv[2] ?? '../../../wit/v0.1.0';
const { component } = await componentize({
  sourcePath: 'lens.js',
  witPath,
  worldName: 'lens',
  disableFeatures: ['stdio', 'random', 'clocks', 'http', 'fetch-event'],
});
await writeFile('lens.wasm', component);
console.log(`wrote lens.wasm (${component.byteLength} bytes)`);
