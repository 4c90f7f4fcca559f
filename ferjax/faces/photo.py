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

import cv2
import numpy as np

from ferjax.faces import detectors
from ferjax.faces.crop import FACE_SIZE, crop_face, to_gray
from ferjax.faces.geometry import Detection, largest_face

PAD_FRACTION = 0.5  # Grey border on each side, as a fraction of the photo's longer side.
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

  def crop(self, image_bgr: np.ndarray) -> tuple[np.ndarray, bool]:
    """(48x48 uint8 face, found): the whole image is used when no face is found."""
    face = self.find(image_bgr)
    if face is None:
      return whole_image_face(to_gray(image_bgr)), False
    return crop_face(image_bgr, face), True
