"""A photo seen twice, as it is and mirrored: each face's score is the mean of both.

A face looks like a face in its mirror image too; a bag's box, half a face under a
hand or a loose box beside a face are less often found the same way twice. The
detections of both views are paired (IoU >= `match_iou`); a pair becomes one box,
the two boxes averaged by score, with the mean score; a box found in one view only
keeps half its score. On WIDER FACE indoor this raised the photo path's precision at
the same recall (BENCHMARKS.md, "Real scenes: WIDER FACE indoor"). It doubles the
detector's time, so the live tool uses it for photos only.
"""

from __future__ import annotations

import cv2
import numpy as np

from ferjax.faces import base
from ferjax.faces import geometry
from ferjax.faces.geometry import Detection

MATCH_IOU = 0.5  # Boxes of the two views from this overlap are one face.
FLOOR = 0.05     # Lowest score each view returns: a face's mean needs both views' scores.
# Landmark order once mirrored, by landmark count: left and right swap (CenterFace: eyes,
# nose, mouth corners; BlazeFace: eyes, nose, mouth, ear tragions).
_MIRRORED_ORDER = {5: (1, 0, 2, 4, 3), 6: (1, 0, 2, 3, 5, 4)}


def mirror(detection: Detection, width: int) -> Detection:
  """`detection` from a mirrored frame `width` px wide, in the frame's own pixels."""
  x0, y0, x1, y1 = detection.box
  landmarks = detection.landmarks
  if landmarks is not None:
    landmarks = np.array(landmarks, np.float32)
    landmarks[:, 0] = width - landmarks[:, 0]
    order = _MIRRORED_ORDER.get(len(landmarks))
    landmarks = landmarks[list(order)] if order else None
  return Detection((width - x1, y0, width - x0, y1), detection.score, landmarks,
                   detection.detector)


def detect_mirrored(detector: base.FaceDetector, frame_bgr: np.ndarray) -> list[Detection]:
  """`detector`'s detections of the frame's mirror image, in the frame's own pixels."""
  width = frame_bgr.shape[1]
  return [mirror(d, width) for d in detector.detect(cv2.flip(frame_bgr, 1))]


def fuse(direct: list[Detection], mirrored: list[Detection], match_iou: float = MATCH_IOU
         ) -> list[Detection]:
  """One detection per face of both views (`mirrored` already in the frame's pixels):
  pairs averaged (boxes weighted by score, the direct view's landmarks), single ones at
  half their score; best score first."""
  boxes = lambda found: np.array([d.box for d in found], np.float64).reshape(-1, 4)
  overlaps = geometry.iou(boxes(direct), boxes(mirrored))
  paired = np.zeros(len(mirrored), bool)
  fused = []
  for i in np.argsort([-d.score for d in direct], kind="stable"):
    a = direct[i]
    free = np.where(paired, -1.0, overlaps[i]) if len(mirrored) else np.zeros(0)
    j = int(np.argmax(free)) if len(free) else -1
    if j < 0 or free[j] < match_iou:
      fused.append(Detection(a.box, a.score / 2, a.landmarks, a.detector))
      continue
    paired[j] = True
    b = mirrored[j]
    box = (np.array(a.box) * a.score + np.array(b.box) * b.score) / (a.score + b.score)
    fused.append(Detection(tuple(float(v) for v in box), (a.score + b.score) / 2,
                           a.landmarks, a.detector))
  fused += [Detection(b.box, b.score / 2, b.landmarks, b.detector)
            for b, taken in zip(mirrored, paired) if not taken]
  return sorted(fused, key=lambda d: -d.score)


class MirroredDetector(base.FaceDetector):
  """`detector` run on a frame and on its mirror image, the two views fused (`fuse`).

  `detector` should return scores well below the threshold the caller applies (its
  `floor`): a face's mean score needs both views' scores. `min_face` passes through;
  the fused boxes are suppressed at the detector's own `iou_threshold`.
  """

  def __init__(self, detector: base.FaceDetector, match_iou: float = MATCH_IOU):
    self.detector = detector
    self.name = detector.name
    self.match_iou = match_iou

  @property
  def min_face(self) -> float:
    return self.detector.min_face

  @min_face.setter
  def min_face(self, value: float) -> None:
    self.detector.min_face = value

  def detect(self, frame_bgr: np.ndarray) -> list[Detection]:
    direct = self.detector.detect(frame_bgr)
    fused = fuse(direct, detect_mirrored(self.detector, frame_bgr), self.match_iou)
    keep = geometry.nms(np.array([d.box for d in fused], np.float64).reshape(-1, 4),
                        np.array([d.score for d in fused]), self.detector.iou_threshold)
    return [fused[i] for i in sorted(keep)]
