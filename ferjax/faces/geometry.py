"""Boxes, non-maximum suppression and resizing frames for a detector's input."""

from __future__ import annotations

import dataclasses
from typing import Sequence

import cv2
import numpy as np

Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in frame pixels.


@dataclasses.dataclass(frozen=True)
class Detection:
  """One face: `box` (x0, y0, x1, y1) in frame pixels and a detector score.

  `landmarks` is (k, 2) frame pixels where the detector gives them (CenterFace:
  eyes, nose, mouth corners; BlazeFace adds the ear tragions), else None.
  `detector` names the detector, which sets the crop framing (`crop.FRAMINGS`).
  """
  box: Box
  score: float
  landmarks: np.ndarray | None = None
  detector: str = ""

  @property
  def width(self) -> float:
    return self.box[2] - self.box[0]

  @property
  def height(self) -> float:
    return self.box[3] - self.box[1]

  @property
  def area(self) -> float:
    return max(0.0, self.width) * max(0.0, self.height)


def largest_face(detections: Sequence[Detection]) -> Detection | None:
  """The detection with the largest box area (ties: higher score); None if empty."""
  if not detections:
    return None
  return max(detections, key=lambda d: (d.area, d.score))


def box_side(boxes) -> np.ndarray:
  """A face's size: sqrt(w h) of each (..., 4) box (the detector-independent measure)."""
  boxes = np.asarray(boxes, np.float64)
  return np.sqrt(np.maximum(boxes[..., 2] - boxes[..., 0], 1e-6)
                 * np.maximum(boxes[..., 3] - boxes[..., 1], 1e-6))


def iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
  """Pairwise IoU of (n, 4) and (m, 4) x0y0x1y1 boxes -> (n, m)."""
  a = np.asarray(a, np.float64).reshape(-1, 4)
  b = np.asarray(b, np.float64).reshape(-1, 4)
  x0 = np.maximum(a[:, None, 0], b[None, :, 0])
  y0 = np.maximum(a[:, None, 1], b[None, :, 1])
  x1 = np.minimum(a[:, None, 2], b[None, :, 2])
  y1 = np.minimum(a[:, None, 3], b[None, :, 3])
  inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
  area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
  area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
  return inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-9)


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> np.ndarray:
  """Indices of the boxes kept by greedy NMS, best score first."""
  boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
  order = np.argsort(-np.asarray(scores, np.float64), kind="stable")
  keep = []
  while order.size:
    i = order[0]
    keep.append(i)
    if order.size == 1:
      break
    overlap = iou(boxes[i:i + 1], boxes[order[1:]])[0]
    order = order[1:][overlap <= iou_threshold]
  return np.asarray(keep, np.int64)


@dataclasses.dataclass(frozen=True)
class Resize:
  """How a frame was mapped onto a detector input: `input = frame * scale + pad`."""
  scale: float
  pad_x: float = 0.0
  pad_y: float = 0.0

  def to_frame(self, points: np.ndarray) -> np.ndarray:
    """Maps (..., 2k) interleaved x, y input coordinates back to the frame."""
    points = np.asarray(points, np.float64).copy()
    points[..., 0::2] = (points[..., 0::2] - self.pad_x) / self.scale
    points[..., 1::2] = (points[..., 1::2] - self.pad_y) / self.scale
    return points


def letterbox(frame: np.ndarray, size: tuple[int, int], *, center: bool = True,
              value: int = 0) -> tuple[np.ndarray, Resize]:
  """Fits `frame` into `size` (w, h) keeping its aspect; pads the rest with `value`."""
  w, h = size
  fh, fw = frame.shape[:2]
  scale = min(w / fw, h / fh)
  nw, nh = max(1, round(fw * scale)), max(1, round(fh * scale))
  resized = cv2.resize(frame, (nw, nh), interpolation=cv2.INTER_AREA if scale < 1
                       else cv2.INTER_LINEAR)
  px, py = ((w - nw) // 2, (h - nh) // 2) if center else (0, 0)
  out = cv2.copyMakeBorder(resized, py, h - nh - py, px, w - nw - px,
                           cv2.BORDER_CONSTANT, value=(value,) * 3)
  # Exact per-axis scale would differ by rounding; the mean keeps errors < 0.5 px.
  return out, Resize(scale=(nw / fw + nh / fh) / 2, pad_x=px, pad_y=py)


def fit_longer_side(frame: np.ndarray, max_side: int, multiple: int = 1
                    ) -> tuple[np.ndarray, Resize]:
  """Scales the longer side to `max_side` and pads right/bottom to a `multiple`."""
  fh, fw = frame.shape[:2]
  scale = max_side / max(fh, fw)
  nw, nh = max(1, round(fw * scale)), max(1, round(fh * scale))
  w, h = -(-nw // multiple) * multiple, -(-nh // multiple) * multiple
  if (nw, nh) != (fw, fh):
    frame = cv2.resize(frame, (nw, nh), interpolation=cv2.INTER_AREA if scale < 1
                       else cv2.INTER_LINEAR)
  out = cv2.copyMakeBorder(frame, 0, h - nh, 0, w - nw, cv2.BORDER_CONSTANT,
                           value=(0, 0, 0))
  return out, Resize(scale=(nw / fw + nh / fh) / 2)


def tiles(width: int, height: int, tile: int, overlap: float = 0.25
          ) -> list[tuple[int, int, int, int]]:
  """Square windows (x0, y0, x1, y1) of side `tile` covering the frame with overlap."""
  def starts(length):
    if length <= tile:
      return [0]
    n = int(np.ceil((length - tile) / (tile * (1 - overlap)))) + 1
    return [round(i * (length - tile) / (n - 1)) for i in range(n)]
  return [(x, y, min(x + tile, width), min(y + tile, height))
          for y in starts(height) for x in starts(width)]


def centre_inside(box: Box, other: Box) -> bool:
  """Whether the centre of `box` lies in `other` (half-open: [x0, x1) x [y0, y1))."""
  x, y = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
  return other[0] <= x < other[2] and other[1] <= y < other[3]


def scale_to(frame: np.ndarray, size: tuple[int, int], padded: tuple[int, int] | None = None
             ) -> tuple[np.ndarray, Resize]:
  """Resizes `frame` to `size` (w, h), then pads right/bottom with black to `padded`."""
  fh, fw = frame.shape[:2]
  nw, nh = size
  if (nw, nh) != (fw, fh):
    shrink = nw * nh < fw * fh
    frame = cv2.resize(frame, (nw, nh), interpolation=cv2.INTER_AREA if shrink
                       else cv2.INTER_LINEAR)
  pw, ph = padded or size
  if (pw, ph) != (nw, nh):
    frame = cv2.copyMakeBorder(frame, 0, ph - nh, 0, pw - nw, cv2.BORDER_CONSTANT,
                               value=(0, 0, 0))
  return frame, Resize(scale=(nw / fw + nh / fh) / 2)


def pad_to(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
  """`image` padded right/bottom with black to `size` (w, h)."""
  h, w = image.shape[:2]
  if (w, h) == tuple(size):
    return image
  return cv2.copyMakeBorder(image, 0, size[1] - h, 0, size[0] - w, cv2.BORDER_CONSTANT,
                            value=(0, 0, 0))


def crosses_edges(boxes: np.ndarray, window: tuple[int, int, int, int],
                  bounds: tuple[int, int], margin: float = 1.0) -> np.ndarray:
  """Which (n, 4) boxes (window coordinates) reach an edge the window shares with a
  neighbour: the edges of `window` inside the area (0, 0, *bounds) it was cut from."""
  boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
  x0, y0, x1, y1 = window
  w, h = x1 - x0, y1 - y0
  cut = np.zeros(len(boxes), bool)
  if x0 > 0:
    cut |= boxes[:, 0] < margin
  if y0 > 0:
    cut |= boxes[:, 1] < margin
  if x1 < bounds[0]:
    cut |= boxes[:, 2] > w - margin
  if y1 < bounds[1]:
    cut |= boxes[:, 3] > h - margin
  return cut


def merge_nms(boxes: np.ndarray, scores: np.ndarray, cut: np.ndarray,
              iou_threshold: float, containment: float = 0.6) -> np.ndarray:
  """Indices kept when merging overlapping windows' boxes, whole faces first.

  Boxes not `cut` by a window edge go first, each group by score; a box is dropped
  when it overlaps a kept one by more than `iou_threshold` IoU, or when more than
  `containment` of the smaller box lies inside it (a cut-off part of a face).
  """
  boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
  scores = np.asarray(scores, np.float64)
  order = np.lexsort((-scores, np.asarray(cut, bool)))
  area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
  keep = []
  while order.size:
    i, rest = order[0], order[1:]
    keep.append(i)
    b = boxes[rest]
    iw = np.clip(np.minimum(boxes[i, 2], b[:, 2]) - np.maximum(boxes[i, 0], b[:, 0]), 0, None)
    ih = np.clip(np.minimum(boxes[i, 3], b[:, 3]) - np.maximum(boxes[i, 1], b[:, 1]), 0, None)
    inter = iw * ih
    union = np.maximum(area[i] + area[rest] - inter, 1e-9)
    smaller = np.maximum(np.minimum(area[i], area[rest]), 1e-9)
    order = rest[(inter / union <= iou_threshold) & (inter / smaller <= containment)]
  return np.asarray(keep, np.int64)
