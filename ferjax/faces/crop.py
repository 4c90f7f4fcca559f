"""The one 48x48 face crop shared by evaluation and the live tool (FER2013 framing).

A detector box is mapped to the square that a FER2013 image covers around the same
face: side = `scale` * sqrt(box width * box height), centre = box centre +
(`dx`, `dy`) * that same box size. The constants come from
`benchmarks/face_detectors.py`, which places real FER2013 test faces (upscaled 4x)
on a larger canvas, detects them, and takes the medians of (image side / box size)
and (image centre - box centre) / box size; see BENCHMARKS.md, "Face detection".

A detection with eye landmarks (CenterFace, BlazeFace) is also turned upright: the
frame is rotated about the square's centre until the eyes are level, so a tilted
head is read as an upright one (BENCHMARKS.md, "Face alignment").
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import cv2
import numpy as np

from ferjax.faces import geometry
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
  size = float(geometry.box_side((x0, y0, x1, y1)))
  cx = (x0 + x1) / 2 + framing.dx * size
  cy = (y0 + y1) / 2 + framing.dy * size
  return cx, cy, framing.scale * size


def eye_roll(detection: Detection) -> float:
  """Degrees the eye line of `detection` is tilted (clockwise on screen), 0 without eyes."""
  if detection.landmarks is None or len(detection.landmarks) < 2:
    return 0.0
  (lx, ly), (rx, ry) = detection.landmarks[:2]
  return float(np.degrees(np.arctan2(ry - ly, rx - lx)))


def _window(gray: np.ndarray, x0: int, y0: int, side: int) -> np.ndarray:
  """The (side, side) window at (x0, y0); parts outside the frame repeat its border."""
  h, w = gray.shape
  sx0, sy0 = min(max(x0, 0), w - 1), min(max(y0, 0), h - 1)
  sx1, sy1 = max(min(x0 + side, w), sx0 + 1), max(min(y0 + side, h), sy0 + 1)
  patch = gray[sy0:sy1, sx0:sx1]
  # A square wholly outside the frame repeats the nearest edge pixels.
  top = min(max(sy0 - y0, 0), side - patch.shape[0])
  left = min(max(sx0 - x0, 0), side - patch.shape[1])
  return cv2.copyMakeBorder(patch, top, side - top - patch.shape[0], left,
                            side - left - patch.shape[1], cv2.BORDER_REPLICATE)


def crop_face(frame: np.ndarray, box: Box | Detection, framing: Framing | None = None,
              size: int = FACE_SIZE, roll_degrees: float | None = None) -> np.ndarray:
  """(size, size) uint8 grey face, framed like FER2013, from a BGR or grey frame.

  `box` is a Detection (its detector picks the framing) or (x0, y0, x1, y1); a plain
  box uses `framing`, else the default detector's. Parts of the square outside the
  frame repeat the border pixels. The face is turned upright first: the frame is
  rotated by `roll_degrees` about the square's centre, by default (None) the tilt of
  a detection's eyes (`eye_roll`), so its eyes are level; 0 (a plain box's default)
  gives the unrotated crop. Alignment measured: BENCHMARKS.md, "Face alignment".
  """
  if isinstance(box, Detection):
    framing = framing or framing_for(box.detector)
    if roll_degrees is None:
      roll_degrees = eye_roll(box)
    box = box.box
  framing = framing or FRAMINGS[DEFAULT_FRAMING]
  gray = to_gray(frame)
  cx, cy, side = crop_square(box, framing)
  side_px = max(1, int(round(side)))
  x0 = int(round(cx - side_px / 2))
  y0 = int(round(cy - side_px / 2))
  if roll_degrees:
    # A window large enough for the rotated square, rotated about the square's centre.
    pad = int(np.ceil(side_px * (np.sqrt(2) - 1) / 2)) + 1
    window = _window(gray, x0 - pad, y0 - pad, side_px + 2 * pad)
    centre = pad + (side_px - 1) / 2
    matrix = cv2.getRotationMatrix2D((centre, centre), roll_degrees, 1.0)
    window = cv2.warpAffine(window, matrix, window.shape[::-1], flags=cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_REPLICATE)
    patch = window[pad:pad + side_px, pad:pad + side_px]
  else:
    patch = _window(gray, x0, y0, side_px)
  interpolation = cv2.INTER_AREA if side_px > size else cv2.INTER_LINEAR
  return cv2.resize(patch, (size, size), interpolation=interpolation)


def crop_faces(frame: np.ndarray, boxes: Sequence[Box | Detection],
               framing: Framing | None = None, size: int = FACE_SIZE,
               rolls: Sequence[float | None] | None = None) -> np.ndarray:
  """(n, size, size) uint8 crops of `boxes` (see `crop_face`, `rolls` its
  `roll_degrees` per box); (0, size, size) if none."""
  gray = to_gray(frame)
  rolls = [None] * len(boxes) if rolls is None else rolls
  crops = [crop_face(gray, box, framing, size, roll) for box, roll in zip(boxes, rolls)]
  return np.stack(crops) if crops else np.zeros((0, size, size), np.uint8)
