"""The live pipeline: detect, track, classify and smooth, one frame at a time.

    pipeline = LivePipeline(detector, classifier, fps=source.fps, detect_every=3)
    for frame in source:
      result = pipeline.process(frame)   # faces with ids, probabilities, labels, timings

Detection runs every `detect_every` frames; in between the tracker's Kalman
prediction carries the boxes. Every reported face is classified on every
frame, all faces of a frame in one batched call of the exported model.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np

from ferjax import faces as faces_lib
from ferjax.live.smoothing import EmotionSmoother
from ferjax.live.tracking import Tracker
from ferjax.live.sources import Frame

STAGES = ("detect", "track", "classify", "draw")


@dataclasses.dataclass(frozen=True)
class TrackedFace:
  track_id: int
  box: tuple[float, float, float, float]
  probs: np.ndarray           # raw model probabilities
  smoothed_probs: np.ndarray
  label: str                  # smoothed label, or "uncertain"
  face: np.ndarray            # the 48x48 crop the model saw (never stored unless asked)


@dataclasses.dataclass
class FrameResult:
  frame: Frame
  faces: list[TrackedFace]
  timings: dict[str, float]   # seconds per stage of STAGES
  detected: bool              # whether the detector ran on this frame


class LivePipeline:
  """Detector + tracker + classifier + smoother, with per-stage timings."""

  def __init__(self, detector: faces_lib.FaceDetector, classifier, *, fps: float,
               detect_every: int = 3, memory_s: float = 2.5, min_hits: int = 2,
               smoothing_s: float = 1.0, confidence_threshold: float = 0.4):
    if detect_every < 1:
      raise ValueError(f"detect_every must be >= 1, got {detect_every}")
    self.detector = detector
    self.classifier = classifier
    self.detect_every = detect_every
    self.framing = faces_lib.framing_for(detector.name)
    # The tracker counts frames; keep a lost face's id for `memory_s` seconds.
    self.tracker = Tracker(max_age=max(1, round(memory_s * fps)), min_hits=min_hits,
                           max_coast=0)
    self.smoother = EmotionSmoother(classifier.class_names, time_constant_s=smoothing_s,
                                    threshold=confidence_threshold)

  def process(self, frame: Frame) -> FrameResult:
    timings = dict.fromkeys(STAGES, 0.0)
    detected = frame.index % self.detect_every == 0
    start = time.perf_counter()
    if detected:
      detections = self.detector.detect(frame.image)
      boxes = np.array([d.box for d in detections], np.float64).reshape(-1, 4)
      scores = np.array([d.score for d in detections], np.float64)
      timings["detect"] = time.perf_counter() - start
      start = time.perf_counter()
      tracks = self.tracker.update(boxes, scores)
    else:
      tracks = self.tracker.predict_only()
    self.smoother.prune(self.tracker.active_ids)
    timings["track"] = time.perf_counter() - start

    start = time.perf_counter()
    boxes = [tuple(float(v) for v in t.box) for t in tracks]
    crops = faces_lib.crop_faces(frame.image, boxes, framing=self.framing)
    probabilities = self.classifier.predict(crops)
    results = []
    for track, box, crop, probs in zip(tracks, boxes, crops, probabilities):
      smoothed = self.smoother.update(track.id, probs, frame.timestamp)
      results.append(TrackedFace(track.id, box, probs, smoothed.probs, smoothed.label, crop))
    timings["classify"] = time.perf_counter() - start
    return FrameResult(frame, results, timings, detected)
