"""A lens component in Python: scores a row's `text` 1-3 by its length. Replace `score` with your rules.

Build: componentize-py -d wit -w lens componentize app -o lens.wasm
"""

import json

from componentize_py_types import Err
from wit_world import exports
from wit_world.exports.stages import Error_Failed, Error_Unsupported, Info, Scored, Stage


class Stages(exports.Stages):
    def describe(self) -> Info:
        # The stages implemented below; `classified lenses check` calls each one.
        return Info(stages=[Stage.SCORE], bucket_names=[])

    def score(self, row, fields):
        text = json.loads(fields).get("text")
        if text is None:
            raise Err(Error_Failed("the row has no `text` field"))
        words = len(text.split())
        overall = 3.0 if words >= 12 else 2.0 if words >= 4 else 1.0
        return Scored(scores=[("overall", overall)], rationales=[("reason", f"{words} words")])

    def preprocess(self, row, fields):
        raise Err(Error_Unsupported())

    def postprocess(self, row, arguments):
        raise Err(Error_Unsupported())

    def bucket(self, row, scores):
        raise Err(Error_Unsupported())
