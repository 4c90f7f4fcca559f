"""The face of a labelled photo (eval sets, RAF-DB preparation), framed as live frames are.

Photos in face datasets are often already tight face crops (RAF-DB's aligned
100x100 images), where a detector sees no face because nothing surrounds it.
`PhotoFaces` pads the photo with grey first, detects at a scale where such a face
is ~100 px (then, if nothing is found, at the detector's full scale), and crops the
largest face with `crop.crop_face` from the unpadded photo (eyes levelled by its
landmarks): the same 48x48 framing the live tool cuts from a camera frame. On
RAF-DB's 12,271 aligned training images a face is found in 98.1% (`face_found` of
`python -m ferjax.data.npz --dataset rafdb`); without the padding CenterFace misses
about a quarter of them.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Sequence

import cv2
import numpy as np

from ferjax.faces import detectors
from ferjax.faces.crop import FACE_SIZE, crop_face, to_gray
from ferjax.faces.geometry import Detection, largest_face

PAD_FRACTION = 0.5  # Grey border on each side, as a fraction of the photo's longer side.
# What fills the part of a crop beyond the photo: its edge pixels repeated (the live
# tool's frames, and every dataset's crops by default), or the photo mirrored, plain
# grey, plain white, a blur of the repeated edge: to measure how much a model leans on
# that part (benchmarks/surroundings.py) and to vary it in training crops.
OUTSIDE_FILLS = ("replicate", "reflect", "grey", "white", "blur")
BLUR_SIGMA = 12.0  # Of the "blur" fill, in photo pixels.
PAD_VALUE = 128
# Longer side of the padded photo at the detector input, first pass then fallback.
DETECTION_SIDES = (192, 640)


def whole_image_face(gray: np.ndarray, size: int = FACE_SIZE) -> np.ndarray:
  """Fallback when no face is found: the centred square of the image at size x size."""
  h, w = gray.shape[:2]
  side = min(h, w)
  y, x = (h - side) // 2, (w - side) // 2
  return cv2.resize(gray[y:y + side, x:x + side], (size, size),
                    interpolation=cv2.INTER_AREA)


def shift_detection(detection: Detection, dx: float, dy: float) -> Detection:
  """The same detection with its box and landmarks moved by (dx, dy)."""
  x0, y0, x1, y1 = detection.box
  landmarks = None if detection.landmarks is None else detection.landmarks + [dx, dy]
  return dataclasses.replace(detection, box=(x0 + dx, y0 + dy, x1 + dx, y1 + dy),
                             landmarks=landmarks)


class PhotoFaces:
  """Largest face of a photo, as a 48x48 grey crop in the live tool's framing."""

  def __init__(self, detector: str = "default"):
    self.detector_name = detector
    key = detectors.DEFAULT if detector in ("default", "", None) else detector
    if key == "centerface":
      self._detectors = [detectors.create_detector(key, max_side=side)
                         for side in DETECTION_SIDES]
    else:
      self._detectors = [detectors.create_detector(key)]

  def find(self, image_bgr: np.ndarray) -> Detection | None:
    """The largest face in photo coordinates, or None."""
    h, w = image_bgr.shape[:2]
    pad = int(round(PAD_FRACTION * max(h, w)))
    padded = cv2.copyMakeBorder(image_bgr, pad, pad, pad, pad, cv2.BORDER_CONSTANT,
                                value=(PAD_VALUE,) * 3)
    for detector in self._detectors:
      face = largest_face(detector.detect(padded))
      if face is not None:
        return shift_detection(face, -pad, -pad)
    return None

  def crop(self, image_bgr: np.ndarray, outside: str = "replicate"
           ) -> tuple[np.ndarray, bool]:
    """(48x48 uint8 face, found): the whole image is used when no face is found.
    `outside`: what fills the crop beyond the photo (`OUTSIDE_FILLS`)."""
    face = self.find(image_bgr)
    return crop_found(image_bgr, face, outside), face is not None


def crop_found(image_bgr: np.ndarray, face: Detection | None, outside: str = "replicate"
               ) -> np.ndarray:
  """`crop_face` of a face found in the photo, the part beyond it filled as `outside`;
  without a face (None), the whole photo (`whole_image_face`)."""
  if face is None:
    return whole_image_face(to_gray(image_bgr))
  if outside != "replicate":
    margin = max(image_bgr.shape[:2])
    image_bgr = surround(image_bgr, margin, outside)
    face = shift_detection(face, margin, margin)
  return crop_face(image_bgr, face)


def parse_fills(names: Sequence[str]) -> tuple[str, ...]:
  """Fill names as a user gives them ('all': every one of `OUTSIDE_FILLS`)."""
  fills = OUTSIDE_FILLS if list(names) == ["all"] else tuple(names)
  unknown = sorted(set(fills) - set(OUTSIDE_FILLS))
  if unknown or not fills:
    raise ValueError(f"{','.join(unknown) or 'none given'}: use 'all' or some of "
                     f"{','.join(OUTSIDE_FILLS)}")
  return fills


def fill_for(name: str, fills: Sequence[str]) -> str:
  """One of `fills`, fixed by `name` (a stable hash), about equally often each."""
  digest = hashlib.sha256(name.encode()).digest()
  return fills[int.from_bytes(digest[:4], "big") % len(fills)]


def surround(image_bgr: np.ndarray, margin: int, outside: str) -> np.ndarray:
  """The photo inside `margin` px on every side, filled as `outside` names."""
  if outside not in OUTSIDE_FILLS:
    raise ValueError(f"outside fill {outside!r}: expected one of {', '.join(OUTSIDE_FILLS)}")
  h, w = image_bgr.shape[:2]
  if outside in ("grey", "white"):
    value = (PAD_VALUE if outside == "grey" else 255,) * 3
    return cv2.copyMakeBorder(image_bgr, margin, margin, margin, margin,
                              cv2.BORDER_CONSTANT, value=value)
  mode = cv2.BORDER_REFLECT_101 if outside == "reflect" else cv2.BORDER_REPLICATE
  out = cv2.copyMakeBorder(image_bgr, margin, margin, margin, margin, mode)
  if outside == "blur":
    blurred = cv2.GaussianBlur(out, (0, 0), BLUR_SIGMA)
    blurred[margin:margin + h, margin:margin + w] = image_bgr
    out = blurred
  return out
