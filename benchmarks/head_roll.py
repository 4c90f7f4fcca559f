"""Accuracy against head roll: what aligning faces by their eyes could win back.

    python -m benchmarks.head_roll --npz fer2013.npz,rafdb.npz \
        --clips "../shared/media/*.gif"                              # updates BENCHMARKS.md

Every validation face is tilted by D degrees about its crop centre (`tools/eval.py
--roll_degrees D`, once each way) and classified. The drop from 0 degrees is an
upper bound on what an eye-level alignment step (rotating each face upright with the
detector's landmarks before the crop) could gain for heads tilted that much, since a
perfect alignment would give back the 0-degree accuracy. With --clips, the live
detector's eye landmarks measure how far real heads roll in those videos, and the
curve turns that into the accuracy alignment could add there.
"""

from __future__ import annotations

import glob
import os
import statistics

import numpy as np
from absl import app
from absl import flags

from benchmarks import eval_tool
from benchmarks import report

_MODELS = flags.DEFINE_list("models", ["ferjax/pretrained/realtime"], "Exported model folders.")
_NPZ = flags.DEFINE_list("npz", None, "Prepared FER2013 (with FER+ votes) and RAF-DB .npz "
                         "files, in that order.", required=True)
_DEGREES = flags.DEFINE_list("degrees", ["0", "10", "20", "30"], "Head roll in degrees.")
_CLIPS = flags.DEFINE_string("clips", None, "Glob of real videos whose head roll to measure.")
_MIN_SCORE = flags.DEFINE_float("min_score", 0.5, "Detections used for the roll measurement.")
_WRITE = flags.DEFINE_bool("write", True, "Update the section in BENCHMARKS.md.")

TITLE = "Accuracy by head roll"
DATASETS = ("ferplus", "rafdb")


def accuracy(model: str, dataset: str, npz: str, degrees: float) -> float:
  """Validation accuracy with every face rolled by +degrees and by -degrees (mean)."""
  signs = (1, -1) if degrees else (1,)
  return statistics.mean(
      eval_tool.run(model, dataset, "validation", npz=npz, out="/tmp/ferjax_head_roll",
                    extra=("--roll_degrees", str(sign * degrees)))["accuracy"]
      for sign in signs)


def clip_rolls(path: str, detector) -> np.ndarray:
  """|roll| in degrees (`faces.eye_roll`) of every face `detector` finds in a video, one
  value per detection with landmarks."""
  from ferjax import faces  # pylint: disable=g-import-not-at-top
  from ferjax.live import sources  # pylint: disable=g-import-not-at-top
  source = sources.open_source(path)
  rolls = []
  try:
    for frame in source:
      for detection in detector.detect(frame.image):
        if detection.landmarks is not None:
          rolls.append(abs(faces.eye_roll(detection)))
  finally:
    source.close()
  return np.asarray(rolls)


def _clip_lines(curves: dict[str, list[float]], degrees: list[float]) -> list[str]:
  lines = ["", "Head roll of the faces the live detector finds in real videos (eye landmarks; "
           f"detections scoring >= {_MIN_SCORE.value:g}), and the accuracy that perfect "
           "alignment could add there: the curve above, interpolated at each face's roll, "
           "averaged over the faces.", "",
           "| video | faces | median roll | 90th percentile | over 10 deg | over 20 deg | " +
           " | ".join(f"gain ({d})" for d in curves) + " |",
           "|---|---|---|---|---|---|" + "---|" * len(curves)]
  from ferjax.live import pipeline  # pylint: disable=g-import-not-at-top
  detector = pipeline.create_detector(score_threshold=_MIN_SCORE.value)
  for path in sorted(glob.glob(_CLIPS.value)):
    rolls = clip_rolls(path, detector)
    if not len(rolls):
      continue
    gains = [np.mean(np.interp(rolls, degrees, [curve[0] - a for a in curve]))
             for curve in curves.values()]
    lines.append(
        f"| {os.path.basename(path)} | {len(rolls)} | {np.median(rolls):.1f} deg | "
        f"{np.percentile(rolls, 90):.1f} deg | {np.mean(rolls > 10):.0%} | "
        f"{np.mean(rolls > 20):.0%} | " + " | ".join(f"{100 * g:.2f} points" for g in gains)
        + " |")
  return lines


def main(argv: list[str]) -> None:
  del argv
  degrees = sorted({0.0, *(abs(float(d)) for d in _DEGREES.value)})
  lines = [report.provenance().rstrip("\n"), "",
           "Validation splits, no TTA; each face rotated about its crop centre by +D and by "
           "-D degrees (mean of the two), corners filled from the border. The drop from "
           "0 degrees bounds what eye-level alignment could win back at that tilt.", "",
           "| model | dataset | " + " | ".join(f"{d:g} deg" for d in degrees) + " |",
           "|---|---|" + "---|" * len(degrees)]
  curves = {}
  for model in _MODELS.value:
    for dataset, npz in zip(DATASETS, _NPZ.value):
      row = [accuracy(model, dataset, npz, d) for d in degrees]
      print(model, dataset, [round(a, 4) for a in row], flush=True)
      lines.append(f"| `{model}` | {dataset} | " +
                   " | ".join(f"{100 * a:.1f}%" for a in row) + " |")
      if model == _MODELS.value[0]:
        curves[dataset] = row
  if _CLIPS.value:
    lines += _clip_lines(curves, degrees)
  body = "\n".join(lines)
  report.publish(TITLE, body, _WRITE.value)


if __name__ == "__main__":
  app.run(main)
