"""The two pixel layouts the face code works in: BGR frames and grey faces."""

from __future__ import annotations

import cv2
import numpy as np

_TO_BGR = {1: cv2.COLOR_GRAY2BGR, 4: cv2.COLOR_BGRA2BGR}
_TO_GRAY = {3: cv2.COLOR_BGR2GRAY, 4: cv2.COLOR_BGRA2GRAY}


def _channels(frame: np.ndarray) -> int:
  """1, 3 or 4 for a uint8 (H, W[, 1|3|4]) image; ValueError otherwise."""
  if frame.dtype != np.uint8:
    raise ValueError(f"frame must be uint8, got {frame.dtype}")
  channels = 1 if frame.ndim == 2 else (frame.shape[2] if frame.ndim == 3 else 0)
  if channels not in (1, 3, 4):
    raise ValueError(f"frame must be (H, W[, 1|3|4]), got {frame.shape}")
  return channels


def to_bgr(frame: np.ndarray, rgb: bool = False) -> np.ndarray:
  """(H, W, 3) uint8 BGR from grey, BGR or BGRA (`rgb`: the input is RGB[A])."""
  frame = np.asarray(frame)
  channels = _channels(frame)
  if channels == 1:
    return cv2.cvtColor(frame.reshape(frame.shape[:2]), cv2.COLOR_GRAY2BGR)
  if rgb:
    return cv2.cvtColor(frame, cv2.COLOR_RGB2BGR if channels == 3 else cv2.COLOR_RGBA2BGR)
  return cv2.cvtColor(frame, _TO_BGR[channels]) if channels == 4 else frame


def to_gray(frame: np.ndarray) -> np.ndarray:
  """(H, W) uint8 grey from a grey (H, W[, 1]), BGR or BGRA uint8 frame."""
  frame = np.asarray(frame)
  channels = _channels(frame)
  if channels == 1:
    return frame.reshape(frame.shape[:2])
  return cv2.cvtColor(frame, _TO_GRAY[channels])
