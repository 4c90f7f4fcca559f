"""The one 48x48 face crop shared by evaluation and the live tool (FER2013 framing).

A detector box is mapped to the square that a FER2013 image covers around the same
face: side = `scale` * sqrt(box width * box height), centre = box centre +
(`dx`, `dy`) * that same box size. The constants come from
`benchmarks/face_detectors.py`, which places real FER2013 test faces (upscaled 4x)
on a larger canvas, detects them, and takes the medians of (image side / box size)
and (image centre - box centre) / box size; see BENCHMARKS.md, "Face detection".
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import cv2
import numpy as np

from ferjax.faces.geometry import Box, Detection
from ferjax.labels import FACE_SIZE
from ferjax.faces.pixels import to_gray



@dataclasses.dataclass(frozen=True)
class Framing:
  """Crop square relative to a detector box (units of sqrt(box w * box h))."""
  scale: float
  dx: float = 0.0
  dy: float = 0.0


# Medians over 300 FER2013 test faces (benchmarks/face_detectors.py, seed 0). Found /
# side / sqrt(w h) (its MAD) / dx / dy: centerface 285/300, 1.160 (6.5%), -0.003,
# -0.008 (its boxes are 1.25x taller than wide); blazeface 204/300, 1.203 (10.8%),
# +0.004, -0.031; blazeface_back 297/300, 1.205 (11.0%), -0.003, -0.083; haar
# 213/300, 1.041 (7.5%), -0.001, +0.005. sqrt(w h) varies less than w or h alone.
FRAMINGS: dict[str, Framing] = {
    "centerface": Framing(scale=1.160, dx=-0.003, dy=-0.008),
    "blazeface": Framing(scale=1.203, dx=0.004, dy=-0.031),
    "blazeface_back": Framing(scale=1.205, dx=-0.003, dy=-0.083),
    "haar": Framing(scale=1.041, dx=-0.001, dy=0.005),
}
DEFAULT_FRAMING = "centerface"


def framing_for(detector: str | None) -> Framing:
  """The framing calibrated for a detector name (the default detector's if unknown)."""
  return FRAMINGS.get(detector or DEFAULT_FRAMING, FRAMINGS[DEFAULT_FRAMING])


def crop_square(box: Box, framing: Framing) -> tuple[float, float, float]:
  """(centre x, centre y, side) of the FER-framed square for a detector box."""
  x0, y0, x1, y1 = (float(v) for v in box)
  size = float(np.sqrt(max(x1 - x0, 1e-6) * max(y1 - y0, 1e-6)))
  cx = (x0 + x1) / 2 + framing.dx * size
  cy = (y0 + y1) / 2 + framing.dy * size
  return cx, cy, framing.scale * size


def crop_face(frame: np.ndarray, box: Box | Detection, framing: Framing | None = None,
              size: int = FACE_SIZE) -> np.ndarray:
  """(size, size) uint8 grey face, framed like FER2013, from a BGR or grey frame.

  `box` is a Detection (its detector picks the framing) or (x0, y0, x1, y1); a plain
  box uses `framing`, else the default detector's. Parts of the square outside the
  frame repeat the border pixels.
  """
  if isinstance(box, Detection):
    framing = framing or framing_for(box.detector)
    box = box.box
  framing = framing or FRAMINGS[DEFAULT_FRAMING]
  gray = to_gray(frame)
  cx, cy, side = crop_square(box, framing)
  side_px = max(1, int(round(side)))
  x0 = int(round(cx - side_px / 2))
  y0 = int(round(cy - side_px / 2))
  h, w = gray.shape
  # Slice what lies inside the frame, then replicate the border for the rest.
  sx0, sy0 = min(max(x0, 0), w - 1), min(max(y0, 0), h - 1)
  sx1, sy1 = max(min(x0 + side_px, w), sx0 + 1), max(min(y0 + side_px, h), sy0 + 1)
  patch = gray[sy0:sy1, sx0:sx1]
  # A square wholly outside the frame repeats the nearest edge pixels.
  top = min(max(sy0 - y0, 0), side_px - patch.shape[0])
  left = min(max(sx0 - x0, 0), side_px - patch.shape[1])
  patch = cv2.copyMakeBorder(patch, top, side_px - top - patch.shape[0], left,
                             side_px - left - patch.shape[1], cv2.BORDER_REPLICATE)
  interpolation = cv2.INTER_AREA if side_px > size else cv2.INTER_LINEAR
  return cv2.resize(patch, (size, size), interpolation=interpolation)


def crop_faces(frame: np.ndarray, boxes: Sequence[Box | Detection],
               framing: Framing | None = None, size: int = FACE_SIZE) -> np.ndarray:
  """(n, size, size) uint8 crops of `boxes` (see `crop_face`); (0, size, size) if none."""
  gray = to_gray(frame)
  crops = [crop_face(gray, box, framing, size) for box in boxes]
  return np.stack(crops) if crops else np.zeros((0, size, size), np.uint8)
