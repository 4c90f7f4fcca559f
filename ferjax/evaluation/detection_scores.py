"""Face detections scored against labelled faces: matching, AP, recall by size.

WIDER FACE's protocol. Per image, detections are taken in descending score
order; a detection whose best overlap (IoU over every labelled face) is an
*ignore region* at IoU >= `iou_threshold` is ignored: neither a hit nor a false
positive. Otherwise it is a hit on the unmatched *counted* face of highest IoU
>= `iou_threshold`, or else a false positive (a second detection of a face
already matched included).

Counted faces are the valid ones (not marked invalid) whose size is at least
`SIZE_FLOOR`; the rest are ignore regions. A face's size is the side sqrt(w h)
of its box, the measure of `ferjax.faces.scales` and BENCHMARKS.md ("Detection
scale"), so recall by size compares with the detector's `min_face`.

Greedy matching in score order does not look at lower scores, so one matching
of all detections (down to a low score floor) serves every operating threshold:
`average_precision` uses the whole ranking, `operating_point` one threshold.

    matches = [match(det_boxes, det_scores, face_boxes, ignore, 0.5) for ...]
    average_precision(matches), operating_point(matches, 0.35).recall[16]
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from ferjax.faces.geometry import iou

SIZE_FLOOR = 10.0       # Faces smaller than this (px, sqrt(w h)) are ignore regions.
SIZES = (10, 16, 24)    # Recall is reported for faces of at least these sizes.
IOU_THRESHOLDS = (0.5, 0.4)

HIT, FALSE_POSITIVE, IGNORED = 1, 0, -1


def face_size(boxes: np.ndarray) -> np.ndarray:
  """Side sqrt(w h) of (n, 4) x0, y0, x1, y1 boxes."""
  boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
  w = np.clip(boxes[:, 2] - boxes[:, 0], 0, None)
  h = np.clip(boxes[:, 3] - boxes[:, 1], 0, None)
  return np.sqrt(w * h)


def ignore_regions(boxes: np.ndarray, invalid: np.ndarray,
                   size_floor: float = SIZE_FLOOR) -> np.ndarray:
  """Which faces are ignore regions: marked invalid, or smaller than `size_floor`."""
  return np.asarray(invalid, bool) | (face_size(boxes) < size_floor)


@dataclasses.dataclass(frozen=True)
class ImageMatch:
  """One image's detections matched to its faces at one IoU threshold.

  Per detection (descending score): `scores`, `outcome` (HIT, FALSE_POSITIVE or
  IGNORED), `face` (the face it hit, else -1) and `best_iou` (its highest IoU
  with any face). Per face: `sizes`, `counted` (not an ignore region) and
  `hit_score` (score of the detection that hit it, -inf if none).
  """
  scores: np.ndarray
  outcome: np.ndarray
  face: np.ndarray
  best_iou: np.ndarray
  sizes: np.ndarray
  counted: np.ndarray
  hit_score: np.ndarray


def match(det_boxes: np.ndarray, det_scores: np.ndarray, face_boxes: np.ndarray,
          ignore: np.ndarray, iou_threshold: float = 0.5) -> ImageMatch:
  """Matches one image's detections to its faces (see the module docstring).

  Args:
    det_boxes: (d, 4) detections, x0, y0, x1, y1.
    det_scores: (d,) their scores.
    face_boxes: (n, 4) labelled faces.
    ignore: (n,) bool, the faces that are ignore regions (`ignore_regions`).
    iou_threshold: overlap from which a detection is on a face.
  """
  det_boxes = np.asarray(det_boxes, np.float64).reshape(-1, 4)
  det_scores = np.asarray(det_scores, np.float64).reshape(-1)
  face_boxes = np.asarray(face_boxes, np.float64).reshape(-1, 4)
  counted = ~np.asarray(ignore, bool).reshape(-1)
  if len(det_boxes) != len(det_scores) or len(face_boxes) != len(counted):
    raise ValueError(f"{len(det_boxes)} boxes for {len(det_scores)} scores, or "
                     f"{len(face_boxes)} faces for {len(counted)} ignore flags")
  order = np.argsort(-det_scores, kind="stable")
  det_boxes, det_scores = det_boxes[order], det_scores[order]
  overlaps = iou(det_boxes, face_boxes)
  outcome = np.full(len(det_boxes), FALSE_POSITIVE, np.int8)
  face = np.full(len(det_boxes), -1, np.int64)
  hit_score = np.full(len(face_boxes), -np.inf)
  best_iou = overlaps.max(1) if len(face_boxes) else np.zeros(len(det_boxes))
  for d, row in enumerate(overlaps):
    if not len(row):
      continue
    best = int(np.argmax(row))
    if row[best] >= iou_threshold and not counted[best]:
      outcome[d] = IGNORED
      continue
    free = np.where(counted & (hit_score == -np.inf) & (row >= iou_threshold),
                    row, -1.0)
    target = int(np.argmax(free))
    if free[target] >= 0:
      outcome[d], face[d], hit_score[target] = HIT, target, det_scores[d]
  return ImageMatch(det_scores, outcome, face, best_iou, face_size(face_boxes), counted,
                    hit_score)


def average_precision(matches: Sequence[ImageMatch]) -> float:
  """Area under the precision-recall curve of all detections (VOC all-point).

  Detections of every image are ranked by score; ignored ones are left out.
  Recall is over the counted faces; precision is made non-increasing in recall
  before the area is taken. NaN without counted faces.
  """
  total = sum(int(m.counted.sum()) for m in matches)
  if not total:
    return float("nan")
  scores = np.concatenate([m.scores[m.outcome != IGNORED] for m in matches] + [[]])
  hits = np.concatenate([m.outcome[m.outcome != IGNORED] == HIT for m in matches] + [[]])
  order = np.argsort(-scores, kind="stable")
  true_pos = np.cumsum(hits[order])
  recall = np.concatenate([[0.0], true_pos / total])
  precision = np.concatenate([[1.0], true_pos / np.arange(1, len(order) + 1)])
  precision = np.maximum.accumulate(precision[::-1])[::-1]
  return float(np.sum(np.diff(recall) * precision[1:]))


@dataclasses.dataclass(frozen=True)
class OperatingPoint:
  """Scores of the detections >= `threshold` over a set of images.

  `recall[s]` is over the counted faces of at least s px (`faces[s]` of them);
  `precision` = hits / (hits + false positives), ignored detections left out.
  """
  threshold: float
  images: int
  recall: dict[int, float]
  faces: dict[int, int]
  hits: int
  false_positives: int
  ignored: int

  @property
  def precision(self) -> float:
    found = self.hits + self.false_positives
    return self.hits / found if found else float("nan")

  @property
  def false_positives_per_image(self) -> float:
    return self.false_positives / self.images if self.images else float("nan")


def operating_point(matches: Sequence[ImageMatch], threshold: float,
                    sizes: Sequence[int] = SIZES) -> OperatingPoint:
  """Recall by face size, precision and false positives of detections >= `threshold`."""
  kept = [m.outcome[m.scores >= threshold] for m in matches]
  recall, faces = {}, {}
  for size in sizes:
    found = np.concatenate([m.hit_score[m.counted & (m.sizes >= size)] >= threshold
                            for m in matches] + [np.zeros(0, bool)])
    faces[size] = len(found)
    recall[size] = float(found.mean()) if len(found) else float("nan")
  return OperatingPoint(threshold, len(matches), recall, faces,
                        hits=int(sum((k == HIT).sum() for k in kept)),
                        false_positives=int(sum((k == FALSE_POSITIVE).sum() for k in kept)),
                        ignored=int(sum((k == IGNORED).sum() for k in kept)))
