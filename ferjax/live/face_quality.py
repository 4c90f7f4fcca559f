"""When a face is too small to read: the size limit from the model's accuracy-vs-size curve.

An export may carry `face_size_accuracy` in its metadata.json, written by
`python -m benchmarks.face_size_curve --metadata`: the accuracy of
`tools/eval.py --face_px N` on a validation split for several N (the side of
the face crop, in pixels, before it is enlarged to 48):

    "face_size_accuracy": {"dataset": "ferplus", "split": "validation",
                           "accuracy": {"48": 0.85, "24": 0.83, "16": 0.77, "12": 0.68}}

A face is reliable from the size where the model keeps `RELATIVE_ACCURACY` of
its full-size accuracy (linear between measured sizes); smaller faces are
labelled `TOO_SMALL` and left out of the class mood.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

TOO_SMALL = "too_small"
RELATIVE_ACCURACY = 0.85
METADATA_KEY = "face_size_accuracy"


def reliable_face_px(metadata: Mapping[str, Any],
                     relative_accuracy: float = RELATIVE_ACCURACY) -> float | None:
  """Smallest crop side (px) read at `relative_accuracy` of full size; None without a curve."""
  curve = metadata.get(METADATA_KEY)
  if not isinstance(curve, Mapping) or not isinstance(curve.get("accuracy"), Mapping):
    return None
  points = sorted((int(px), float(acc)) for px, acc in curve["accuracy"].items())
  if len(points) < 2:
    return None
  sizes = np.array([p for p, _ in points], np.float64)
  accuracy = np.array([a for _, a in points], np.float64)
  goal = relative_accuracy * accuracy[-1]
  # The largest crossing from below: every size above it reaches the goal.
  for i in range(len(points) - 1, 0, -1):
    if accuracy[i - 1] < goal <= accuracy[i]:
      t = (goal - accuracy[i - 1]) / (accuracy[i] - accuracy[i - 1])
      return float(sizes[i - 1] + t * (sizes[i] - sizes[i - 1]))
  return float(sizes[0])  # Every measured size reaches it.
