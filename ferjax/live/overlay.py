"""Draws the live overlay: boxes, ids, smoothed emotions, a class-mood bar, FPS.

Faces too small to read get a thin grey box and their id only, and stay out of
the class-mood bar.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from ferjax.live import colours
from ferjax.live.face_quality import TOO_SMALL
from ferjax.live.smoothing import UNCERTAIN

BAR_HEIGHT = 22


def _text(image: np.ndarray, text: str, origin: tuple[int, int], color, scale=0.45) -> None:
  """`text` in `color` on a dark box (readable on any background).

  One thin anti-aliased stroke on a filled box: an outlined stroke (a thick black
  pass under the colour) costs ~12x more per label in OpenCV.
  """
  font = cv2.FONT_HERSHEY_SIMPLEX
  (width, height), baseline = cv2.getTextSize(text, font, scale, 1)
  x, y = origin
  cv2.rectangle(image, (x - 2, y - height - 2), (x + width + 2, y + baseline), (0, 0, 0), -1)
  cv2.putText(image, text, origin, font, scale, color, 1, cv2.LINE_AA)


def draw(image: np.ndarray, faces: Sequence, class_names: Sequence[str],
         fps: float | None = None) -> np.ndarray:
  """A copy of `image` with the overlay for `faces` (`ferjax.live.TrackedFace`s)."""
  out = image.copy()
  for face in faces:
    x0, y0, x1, y1 = (int(round(v)) for v in face.box)
    color = colours.bgr(face.label)
    if face.label == TOO_SMALL:
      cv2.rectangle(out, (x0, y0), (x1, y1), color, 1)
      _text(out, f"#{face.track_id}", (x0, max(12, y0 - 3)), color, 0.35)
      continue
    cv2.rectangle(out, (x0, y0), (x1, y1), color, 2)
    score = "" if face.label == UNCERTAIN else f" {face.smoothed_probs.max():.0%}"
    _text(out, f"#{face.track_id} {face.label}{score}", (x0, max(12, y0 - 5)), color)
  # Class mood: share of each smoothed label among the readable faces now visible.
  h, w = out.shape[:2]
  cv2.rectangle(out, (0, h - BAR_HEIGHT), (w, h), (30, 30, 30), -1)
  labels = [f.label for f in faces if f.label != TOO_SMALL]
  x = 0
  for name in list(class_names) + [UNCERTAIN]:
    count = labels.count(name)
    if not count:
      continue
    width = int(round(w * count / len(labels)))
    cv2.rectangle(out, (x, h - BAR_HEIGHT), (x + width, h), colours.bgr(name), -1)
    if width > 50:
      _text(out, f"{name} {count}", (x + 4, h - 6), (255, 255, 255), 0.4)
    x += width
  status = f"{len(faces)} faces"
  if fps is not None:
    status += f"  {fps:.1f} FPS"
  _text(out, status, (6, 16), (255, 255, 255), 0.5)
  return out
