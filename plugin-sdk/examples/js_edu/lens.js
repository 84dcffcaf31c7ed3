// An example lens component in JavaScript: the edu_value lens's postprocess and bucket stages.
//
// Build it with componentize-js (npm install, then npm run build, from this folder): build.mjs turns
// this module and the lens WIT (../../wit/v0.1.0) into lens.wasm, with every WASI feature disabled so
// the component imports nothing but the lens's host interface.
//
// The module exports the WIT's `stages` interface as an object. A stage answers by returning its
// value, or by throwing the WIT error variant: {tag: 'failed', val: 'one sentence'} fails the row,
// {tag: 'unsupported'} hands the stage to the host's native default. `describe` lists the stages
// implemented here; the host calls no other.

import { log } from 'classified:lens/host@0.1.0';

const SCORE = 'educational_value';
const RATIONALE = 'justification';

const failed = (message) => ({ tag: 'failed', val: message });
const unsupported = () => ({ tag: 'unsupported' });

export const stages = {
  describe() {
    return { stages: ['postprocess', 'bucket'], bucketNames: [] };
  },

  preprocess(row, fields) {
    throw unsupported();
  },

  postprocess(row, argumentsJson) {
    let args;
    try {
      args = JSON.parse(argumentsJson);
    } catch (e) {
      throw failed(`the answer is not JSON: ${e.message}`);
    }
    const raw = args !== null && typeof args === 'object' ? args[SCORE] : undefined;
    const value = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN;
    if (!Number.isFinite(value)) {
      throw failed(`\`${SCORE}\` is ${JSON.stringify(raw)}, not a number from 0 to 5`);
    }
    if (value < -1 || value > 10) {
      throw failed(`\`${SCORE}\` is ${value}, far outside 0 to 5`);
    }
    if (value !== Math.round(value)) {
      log('info', `row ${row}: rounded ${value} to a whole number of points`);
    }
    const score = Math.min(5, Math.max(0, Math.round(value)));
    const why = String(args[RATIONALE] ?? '').trim();
    return { scores: [[SCORE, score]], rationales: [[RATIONALE, why]] };
  },

  bucket(row, scores) {
    const found = scores.find(([label]) => label === SCORE);
    if (found === undefined) {
      throw failed(`no \`${SCORE}\` score`);
    }
    const points = Math.floor(found[1] + 0.5);
    return points <= 1 ? 'Poor' : points === 2 ? 'Low' : points === 3 ? 'Medium' : 'Good';
  },

  score(row, fields) {
    throw unsupported();
  },
};
