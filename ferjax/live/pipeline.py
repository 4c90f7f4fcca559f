"""The live pipeline: detect, track, classify and smooth, one frame at a time.

    pipeline = LivePipeline(detector, classifier, fps=source.fps, detect_every=3)
    try:
      for frame in source:
        result = pipeline.process(frame)   # faces with ids, probabilities, labels, timings
    finally:
      pipeline.close()

Detection runs in a worker thread (onnxruntime releases the GIL), so a slow
high-resolution detection does not stall classification and drawing. A
detection of frame k is fused into the tracker *at frame k*: the tracker's
state before frame k is kept when the detection is submitted, and when the
result arrives the tracker is rebuilt from it (update with frame k's faces,
then one Kalman prediction per frame since). Files detect their first frame in
the loop and then wait for each detection `detect_every` frames after
submitting it, so their results do not depend on the machine's speed; a camera
takes each result as soon as it is ready. The faces of the first detection are
reported at once; later newcomers after two detections in a row.
`asynchronous=False` detects in the frame loop instead.

Each reported face is classified every `classify_every` frames (staggered by id,
so each frame reads an even share of the faces, in one batched call) and keeps
its smoothed emotion in between; a new face is read at once. Faces smaller than
`too_small_px` (the crop side in pixels) are labelled TOO_SMALL instead. A face
the detector has lost (a student looking down) is still reported for `coast_s`
seconds at its predicted place with its last smoothed emotion, without being
classified. `analyse_photo` reads one still image on its own:
every face of at least `photo_threshold`, no tracking.
"""

from __future__ import annotations

from concurrent import futures
import copy
import dataclasses
import time

import numpy as np

from ferjax import faces as faces_lib
from ferjax.faces.geometry import Detection
from ferjax.live.face_quality import TOO_SMALL
from ferjax.live.smoothing import UNCERTAIN, EmotionSmoother
from ferjax.live.sources import Frame
from ferjax.live.tracking import Tracker

STAGES = ("detect", "track", "classify", "draw")

# The live tool's defaults (tools/live.py flags; benchmarks use the same).
HIGH_THRESHOLD = 0.3    # A detection this confident may start a track (twice in a row).
LOW_THRESHOLD = 0.25    # ... this confident only keeps a track going.
PHOTO_THRESHOLD = 0.35  # A face counted in a still photo (no tracking to confirm it).
DETECT_EVERY = 3
# Frames between two readings of one face: 15 per second at 30 FPS, well within
# the emotion average's 1 s time constant, for half the classifier's work.
CLASSIFY_EVERY = 2
MEMORY_S = 6.0          # A student who looks down for a few seconds keeps the id ...
COAST_S = 2.0           # ... and stays on screen, with the last emotion read, this long.


def create_detector(name: str = "default", *, min_face: float | None = None,
                    max_side: int | None = None, score_threshold: float = LOW_THRESHOLD,
                    threads: int | None = None) -> faces_lib.FaceDetector:
  """The live tool's face detector; CenterFace gets the scale and score settings.

  Args:
    name: a detector name (`ferjax.faces.DETECTORS`) or "default".
    min_face: smallest face to find, in frame pixels (None: CenterFace's default).
    max_side: fixed detector input size instead of the scale from `min_face`.
    score_threshold: lowest detector score returned.
    threads: CenterFace's onnxruntime threads (None: all cores).
  """
  key = faces_lib.detector_key(name)
  if key != "centerface":
    return faces_lib.create_detector(key)
  kwargs = {"score_threshold": score_threshold, "threads": threads}
  if min_face:
    kwargs["min_face"] = min_face
  if max_side:
    kwargs["max_side"] = max_side
  return faces_lib.create_detector(key, **kwargs)


@dataclasses.dataclass(frozen=True)
class TrackedFace:
  track_id: int
  box: tuple[float, float, float, float]
  probs: np.ndarray | None           # raw model probabilities (None: not read, see label)
  smoothed_probs: np.ndarray | None
  label: str                         # smoothed label, "uncertain" or "too_small"
  face: np.ndarray | None            # the 48x48 crop the model saw (never stored unless asked)
  face_px: float = 0.0               # side of the face crop in frame pixels
  score: float | None = None         # detector score of the last matched detection


@dataclasses.dataclass
class FrameResult:
  frame: Frame
  faces: list[TrackedFace]
  timings: dict[str, float]   # seconds per stage of STAGES (detect: time waited for it)
  detected: bool              # whether a detection was fused in this frame


@dataclasses.dataclass
class _Pending:
  """A detection running in the worker thread."""
  future: futures.Future
  tracker_before: Tracker     # the tracker's state before that frame
  frames_since: int = 0       # frames processed since (including its own)


class LivePipeline:
  """Detector + tracker + classifier + smoother, with per-stage timings."""

  def __init__(self, detector: faces_lib.FaceDetector, classifier, *, fps: float,
               detect_every: int = DETECT_EVERY, classify_every: int = CLASSIFY_EVERY,
               memory_s: float = MEMORY_S,
               coast_s: float = COAST_S, min_hits: int = 2, smoothing_s: float = 1.0,
               confidence_threshold: float = 0.4, high_threshold: float = HIGH_THRESHOLD,
               low_threshold: float = LOW_THRESHOLD, photo_threshold: float = PHOTO_THRESHOLD,
               too_small_px: float = 0.0, asynchronous: bool = True,
               live: bool = False):
    """Creates the pipeline.

    Args:
      detector: a face detector whose own score threshold is at most
        `low_threshold` (the tracker splits confident and weak faces).
      classifier: an `ExpressionClassifier` (or anything with `predict` and
        `class_names`).
      fps: the source's frame rate (the tracker counts frames).
      detect_every: frames between detections.
      classify_every: frames between two readings of one face (1: every frame).
      memory_s: seconds a lost face keeps its id.
      coast_s: seconds a face the detector lost (e.g. looking down) is still
        reported at its predicted place, with its last smoothed emotion.
      min_hits: detections in a row before a face gets an id.
      smoothing_s: time constant of the per-face emotion average.
      confidence_threshold: below this smoothed probability a face is "uncertain".
      high_threshold: detector score that may start a track.
      low_threshold: detector score that may only extend a track.
      photo_threshold: detector score of a face counted in `analyse_photo`.
      too_small_px: faces whose crop side is under this are TOO_SMALL.
      asynchronous: detect in a worker thread.
      live: the source is a camera: take detections when ready, never wait.
    """
    if detect_every < 1:
      raise ValueError(f"detect_every must be >= 1, got {detect_every}")
    if classify_every < 1:
      raise ValueError(f"classify_every must be >= 1, got {classify_every}")
    self.detector = detector
    self.classifier = classifier
    self.detect_every = detect_every
    self.classify_every = classify_every
    self.too_small_px = too_small_px
    self.photo_threshold = photo_threshold
    self.live = live
    self.framing = faces_lib.framing_for(detector.name)
    # The tracker counts frames; keep a lost face's id for `memory_s` seconds.
    self.tracker = Tracker(max_age=max(1, round(memory_s * fps)), min_hits=min_hits,
                           max_coast=int(coast_s * fps / detect_every),
                           high_threshold=high_threshold, low_threshold=low_threshold,
                           confirm_first_round=True)
    self.smoother = EmotionSmoother(classifier.class_names, time_constant_s=smoothing_s,
                                    threshold=confidence_threshold)
    self._executor = (futures.ThreadPoolExecutor(1, thread_name_prefix="detector")
                      if asynchronous else None)
    self._pending: _Pending | None = None
    self._frames_since_submit = detect_every  # Submit on the first frame.
    self._started = False
    self._photo_ids = 0

  # Detection.

  def _detect(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Boxes, scores and eye-line tilts (`faces.eye_roll`) of the faces in `image`."""
    detections = self.detector.detect(image)
    boxes = np.array([d.box for d in detections], np.float64).reshape(-1, 4)
    scores = np.array([d.score for d in detections], np.float64)
    rolls = np.array([faces_lib.eye_roll(d) for d in detections], np.float64)
    return boxes, scores, rolls

  def _detect_in_loop(self, frame: Frame) -> tuple[list, bool, float]:
    """Detects and updates the tracker now: (tracks, True, detect seconds)."""
    start = time.perf_counter()
    detected = self._detect(frame.image)
    seconds = time.perf_counter() - start
    return self.tracker.update(*detected), True, seconds

  def _fuse(self, pending: _Pending) -> float:
    """Rebuilds the tracker with a finished detection; returns seconds waited for it."""
    start = time.perf_counter()
    detected = pending.future.result()
    waited = time.perf_counter() - start
    tracker = pending.tracker_before
    tracker.update(*detected)
    for _ in range(pending.frames_since - 1):
      tracker.predict_only()
    self.tracker = tracker
    return waited

  def _step_tracker(self, frame: Frame) -> tuple[list, bool, float]:
    """Advances the tracker over `frame`: (tracks, detection fused, detect seconds)."""
    if self._executor is None:  # Synchronous: detect every `detect_every` frames.
      if frame.index % self.detect_every:
        return self.tracker.predict_only(), False, 0.0
      return self._detect_in_loop(frame)

    if not self._started:  # The first frame's faces at once (a camera's, when ready).
      self._started = True
      if not self.live:
        self._frames_since_submit = 0
        return self._detect_in_loop(frame)
    fused, waited = False, 0.0
    pending = self._pending
    if pending is not None and (pending.future.done() if self.live
                                else pending.frames_since >= self.detect_every):
      waited = self._fuse(pending)
      self._pending, fused = None, True
    self._frames_since_submit += 1
    if self._pending is None and self._frames_since_submit >= self.detect_every:
      self._pending = _Pending(self._executor.submit(self._detect, frame.image),
                               copy.deepcopy(self.tracker))
      self._frames_since_submit = 0
    if self._pending is not None:
      self._pending.frames_since += 1
    return self.tracker.predict_only(), fused, waited

  # Classification.

  def _classify(self, frame: Frame, ids: list[int], boxes: list[tuple[float, ...]],
                scores: list[float | None], rolls: list[float], smooth: bool,
                hold: list[bool] | None = None) -> list[TrackedFace]:
    """Crops (turned upright by `rolls`), classifies and smooths the faces of one frame.

    Faces under `too_small_px` are TOO_SMALL; faces to `hold` (the detector lost
    them, or they are not due for a reading) keep their last smoothed emotion.
    Neither is classified.
    """
    hold = hold or [False] * len(ids)
    sides = [faces_lib.crop_square(box, self.framing)[2] for box in boxes]
    readable = [i for i, side in enumerate(sides)
                if side >= self.too_small_px and not hold[i]]
    crops = faces_lib.crop_faces(frame.image, [boxes[i] for i in readable],
                                 framing=self.framing, rolls=[rolls[i] for i in readable])
    probabilities = self.classifier.predict(crops) if len(crops) else []
    read = dict(zip(readable, zip(crops, probabilities)))
    results = []
    for i, (track_id, box, score) in enumerate(zip(ids, boxes, scores)):
      if i in read:
        crop, probs = read[i]
        if smooth:
          smoothed = self.smoother.update(track_id, probs, frame.timestamp)
          smoothed_probs, label = smoothed.probs, smoothed.label
        else:
          smoothed_probs, label = probs, self.smoother.label_of(probs)
        results.append(TrackedFace(track_id, box, probs, smoothed_probs, label, crop,
                                   sides[i], score))
      elif hold[i] and sides[i] >= self.too_small_px:
        last = self.smoother.get(track_id, frame.timestamp)
        results.append(TrackedFace(
            track_id, box, None, None if last is None else last.probs,
            UNCERTAIN if last is None else last.label, None, sides[i], score))
      else:
        results.append(TrackedFace(track_id, box, None, None, TOO_SMALL, None, sides[i],
                                   score))
    return results

  # Public.

  def process(self, frame: Frame) -> FrameResult:
    """One video frame: tracked faces with stable ids and smoothed emotions."""
    timings = dict.fromkeys(STAGES, 0.0)
    start = time.perf_counter()
    tracks, detected, timings["detect"] = self._step_tracker(frame)
    self.smoother.prune(self.tracker.active_ids)
    timings["track"] = time.perf_counter() - start - timings["detect"]
    start = time.perf_counter()
    boxes = [tuple(float(v) for v in t.box) for t in tracks]
    hold = [t.missed_rounds > 0 or (t.id in self.smoother and
                                    (t.id + frame.index) % self.classify_every != 0)
            for t in tracks]
    results = self._classify(frame, [t.id for t in tracks], boxes,
                             [t.score for t in tracks], [t.roll for t in tracks],
                             smooth=True, hold=hold)
    timings["classify"] = time.perf_counter() - start
    return FrameResult(frame, results, timings, detected)

  def analyse_photo(self, frame: Frame) -> FrameResult:
    """One still image on its own: every face of `photo_threshold`, ids new to this pipeline."""
    timings = dict.fromkeys(STAGES, 0.0)
    start = time.perf_counter()
    detections: list[Detection] = [d for d in self.detector.detect(frame.image)
                                   if d.score >= self.photo_threshold]
    timings["detect"] = time.perf_counter() - start
    ids = list(range(self._photo_ids + 1, self._photo_ids + len(detections) + 1))
    self._photo_ids += len(detections)
    start = time.perf_counter()
    results = self._classify(frame, ids, [tuple(float(v) for v in d.box) for d in detections],
                             [d.score for d in detections],
                             [faces_lib.eye_roll(d) for d in detections], smooth=False)
    timings["classify"] = time.perf_counter() - start
    return FrameResult(frame, results, timings, True)

  def close(self) -> None:
    """Stops the detection worker (a running detection finishes in the background)."""
    if self._executor is not None:
      self._executor.shutdown(wait=False, cancel_futures=True)
      self._pending = None

  def __enter__(self) -> LivePipeline:
    return self

  def __exit__(self, *exc_info) -> None:
    self.close()
