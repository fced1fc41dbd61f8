/** Build step (`npm run build`): write the knowledge-base index to dist/kb-index.json (and the parsed benign list). */
import { loadBundledBenign } from '../engine/unrecognized.js';
import { writeBuiltIndex } from './search.js';

const { path, entries } = writeBuiltIndex();
const benign = loadBundledBenign().length;
process.stdout.write(`knowledge base: ${entries} entries indexed into ${path}; ${benign} known-benign messages\n`);
