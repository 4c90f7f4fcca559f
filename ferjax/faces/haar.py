"""OpenCV's Viola-Jones frontal-face cascade: always available, the fallback detector."""

from __future__ import annotations

import os

import cv2
import numpy as np

from ferjax.faces import base
from ferjax.faces import geometry
from ferjax.faces import pixels
from ferjax.faces.geometry import Detection


class Haar(base.FaceDetector):
  """OpenCV's Viola-Jones frontal-face cascade: no extra package, more false positives.

  The frame is scaled so its longer side is `max_side`; `score` is the cascade's
  last-stage weight (not a probability).
  """

  name = "haar"

  def __init__(self, max_side: int = 640, min_neighbors: int = 5,
               scale_factor: float = 1.1, min_size: int = 20,
               cascade: str = "haarcascade_frontalface_default.xml"):
    path = os.path.join(cv2.data.haarcascades, cascade)
    self._cascade = cv2.CascadeClassifier(path)
    if self._cascade.empty():
      raise base.DetectorUnavailable(f"haar: cannot load the OpenCV cascade {path}")
    self.max_side, self.min_neighbors = max_side, min_neighbors
    self.scale_factor, self.min_size = scale_factor, min_size

  def detect(self, frame_bgr: np.ndarray) -> list[Detection]:
    frame_bgr = pixels.to_bgr(frame_bgr)
    image, resize = geometry.fit_longer_side(frame_bgr, self.max_side)
    gray = cv2.equalizeHist(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY))
    rects, _, weights = self._cascade.detectMultiScale3(
        gray, scaleFactor=self.scale_factor, minNeighbors=self.min_neighbors,
        minSize=(self.min_size, self.min_size), outputRejectLevels=True)
    if not len(rects):
      return []
    rects = np.asarray(rects, np.float64).reshape(-1, 4)
    boxes = np.concatenate([rects[:, :2], rects[:, :2] + rects[:, 2:]], 1)
    return base.sorted_detections(resize.to_frame(boxes), np.asarray(weights, np.float64).ravel(),
                       None, self.name, frame_bgr.shape)
