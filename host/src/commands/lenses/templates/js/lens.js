// A lens component in JavaScript: scores a row's `text` 1-3 by its length. Replace `score` with your rules.
//
// The module exports the WIT's `stages` interface (wit/lens.wit). A stage answers by returning its
// value or by throwing the WIT error variant: {tag: 'failed', val: 'one sentence'} fails the row,
// {tag: 'unsupported'} leaves the stage to the host's native default.

const unsupported = () => ({ tag: 'unsupported' });

export const stages = {
  describe() {
    // The stages implemented below; `classified lenses check` calls each one.
    return { stages: ['score'], bucketNames: [] };
  },

  score(row, fields) {
    const text = JSON.parse(fields).text;
    if (typeof text !== 'string') {
      throw { tag: 'failed', val: 'the row has no `text` field' };
    }
    const words = text.split(/\s+/).filter((w) => w !== '').length;
    const overall = words >= 12 ? 3 : words >= 4 ? 2 : 1;
    return { scores: [['overall', overall]], rationales: [['reason', `${words} words`]] };
  },

  preprocess(row, fields) {
    throw unsupported();
  },

  postprocess(row, argumentsJson) {
    throw unsupported();
  },

  bucket(row, scores) {
    throw unsupported();
  },
};
