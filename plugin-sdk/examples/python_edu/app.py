"""An example lens component in Python: the edu_value lens's postprocess and bucket stages.

Build it with componentize-py (pip install componentize-py==0.25.1), from this folder:

    componentize-py -d ../../wit/v0.1.0 -w lens componentize app -o lens.wasm

componentize-py generates the `wit_world` package from the WIT; this module implements its
`Stages` protocol. A stage that is not implemented raises Err(Error_Unsupported()) and is left
out of `describe`, so the host runs its native default.
"""

import json

from componentize_py_types import Err
from wit_world import exports
from wit_world.exports.stages import Error_Failed, Error_Unsupported, Info, Scored, Stage
from wit_world.imports import host

SCORE = "educational_value"
RATIONALE = "justification"


class Stages(exports.Stages):
    def describe(self) -> Info:
        return Info(stages=[Stage.POSTPROCESS, Stage.BUCKET], bucket_names=[])

    def preprocess(self, row, fields):
        raise Err(Error_Unsupported())

    def postprocess(self, row, arguments):
        try:
            args = json.loads(arguments)
        except ValueError as e:
            raise Err(Error_Failed(f"the answer is not JSON: {e}"))
        raw = args.get(SCORE) if isinstance(args, dict) else None
        try:
            value = float(raw)
        except (TypeError, ValueError):
            raise Err(Error_Failed(f"`{SCORE}` is {raw!r}, not a number from 0 to 5"))
        if not -1 <= value <= 10:
            raise Err(Error_Failed(f"`{SCORE}` is {value}, far outside 0 to 5"))
        if value != round(value):
            host.log(host.Level.INFO, f"row {row}: rounded {value} to a whole number of points")
        score = min(5.0, max(0.0, float(round(value))))
        why = str(args.get(RATIONALE, "")).strip()
        return Scored(scores=[(SCORE, score)], rationales=[(RATIONALE, why)])

    def bucket(self, row, scores):
        value = dict(scores).get(SCORE)
        if value is None:
            raise Err(Error_Failed(f"no `{SCORE}` score"))
        points = int(value + 0.5)
        return "Poor" if points <= 1 else "Low" if points == 2 else "Medium" if points == 3 else "Good"

    def score(self, row, fields):
        raise Err(Error_Unsupported())
