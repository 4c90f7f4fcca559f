"""The live pipeline: detect, track, classify and smooth, one frame at a time.

    pipeline = LivePipeline(detector, classifier, fps=source.fps, live=source.live)
    try:
      for result in pipeline.stream(source):  # faces with ids, probabilities, labels,
        ...                                   # timings; a file's a second late
    finally:
      pipeline.close()

`process` analyses one frame; `stream` hands a file's results out a second late,
revised by what was learnt since (`Hindsight`: a picture found by the first
detection is never shown).

A file detects every `detect_every` frames in the frame loop. A camera detects
in a worker thread (onnxruntime releases the GIL), so a slow detection does not
stall the frames that keep coming, and takes each result as soon as it is
ready: a detection of frame k is fused into the tracker *at frame k* (the
tracker's state before frame k is kept when the detection is submitted, and
when the result arrives the tracker is rebuilt from it: update with frame k's
faces, then one Kalman prediction per frame since). `asynchronous=True` runs a
file's detection in the worker too, waiting for each one `detect_every` frames
after submitting it, so that its results do not depend on the machine's speed.
Every source waits for the first frame's detection (a camera too: its first
frame is shown with its faces, a moment late, instead of frames without
them), and reports its faces at once; later newcomers after two detections in a row.

Each reported face is classified every `classify_every` frames (staggered by id,
so each frame reads an even share of the faces, in one batched call) and keeps
its smoothed emotion in between; a new face is read at once. Faces smaller than
`too_small_px` (the crop side in pixels) are labelled TOO_SMALL instead. A face
the detector has lost (a student looking down) is still reported for `coast_s`
seconds where it was last detected, with its last smoothed emotion, without being
classified. Only students are reported: a track gets an id once the model's
face output has verified it as a face, and a student who comes back to their
seat gets their id back (`ferjax.live.students`). `analyse_photo` reads one
still image on its own: every face of at least `photo_threshold` that the
model takes for a face, no tracking.
"""

from __future__ import annotations

import collections
from concurrent import futures
import dataclasses
import math
import time
from typing import Any, Iterable, Iterator, Sequence

import numpy as np

from ferjax import faces as faces_lib
from ferjax.faces import geometry
from ferjax.faces.geometry import Detection
from ferjax.faces import mirrored
from ferjax.faces import scales
from ferjax.faces import scene_scale as scene_scale_lib
from ferjax.live.face_quality import TOO_SMALL
from ferjax.live.smoothing import UNCERTAIN, EmotionSmoother
from ferjax.live.sources import Frame
from ferjax.live.students import (FACE_THRESHOLD, MIN_CHANGE, MIN_NEW_S, SEAT_DISTANCE,
                                  Students)
from ferjax.live.tracking import NEW_FACE_SPEED_S, Track, Tracker

STAGES = ("detect", "track", "classify", "draw")

# The live tool's defaults (tools/live.py flags; benchmarks use the same).
HIGH_THRESHOLD = 0.3    # A detection this confident may start a track (twice in a row).
LOW_THRESHOLD = 0.25    # ... this confident only keeps a track going.
PHOTO_THRESHOLD = 0.35  # A face counted in a still photo (no tracking to confirm it).
# A photo's box under SMALL_FACE px (`--min_face` when given) needs P(face) of
# SMALL_FACE_CHECK. On WIDER FACE indoor's trained events, 90% of such boxes at the face
# threshold were faces against 96% of larger ones; at 0.9, 95%, with 89% of their faces
# kept (BENCHMARKS.md, "Real scenes"). Video does without: there it kept a back-row
# student of the generated lesson (12-13 px) from ever becoming one, for no gain.
SMALL_FACE = scales.DEFAULT_MIN_FACE
SMALL_FACE_CHECK = 0.9
# Frames between detections: at 30 FPS 7.5 a second. In the realistic lesson every
# 4th frame in the loop found as many faces (95.8% of those >= 14 px) as every 3rd in
# the worker thread (95.4%), and with each face read every 6th frame the lesson ran
# at about 26 FPS instead of 18-19 (BENCHMARKS.md, "Live pipeline", same runs).
DETECT_EVERY = 4
# Frames between two readings of one face: 5 a second at 30 FPS, within the emotion
# average's 1 s time constant, for a sixth of the classifier's work. In the realistic
# lesson the emotion shown agreed with the faces' labels as often as with 1, 2 or 4
# (BENCHMARKS.md, "Live pipeline").
CLASSIFY_EVERY = 6
MEMORY_S = 6.0          # A student who looks down for a few seconds keeps the id ...
# ... and stays on screen, with the last emotion read, this long: past 1 s its box
# (then the prediction; now where it was last detected) found no more faces in the
# realistic lesson, only wall (2 s before).
COAST_S = 1.0
# A face still this long (a picture: `students.Students.still_boxes`) is no longer
# looked for in detection rounds (`faces.scene_scale`); a third of the faces a 1280x720
# lesson's rounds looked at were its poster's printed faces and flickers. Seated
# students move within 1.4 s.
UNFOLLOW_STILL_S = 3.0


def default_verifier(classifier, model_dir: str | None = None):
  """The face checker for `classifier`: None if it has a face output of its own, else
  the model in `model_dir` (default: the shipped one-network model)."""
  if getattr(classifier, "has_face_output", False):
    return None
  from ferjax import inference  # pylint: disable=g-import-not-at-top
  verifier = inference.ExpressionClassifier(model_dir or inference.FACE_CHECK_MODEL_DIR)
  if not verifier.has_face_output:
    raise ValueError(f"{verifier.model_dir} has no face output; a face checker must "
                     "be exported from a run with face_output=True")
  return verifier


def photo_min_face(frame_shape: tuple[int, ...], min_face: float = 0.0) -> float:
  """`min_face`, or for a photo 14 px or 1% of its longer side, whichever is larger."""
  if min_face:
    return min_face
  return max(scales.DEFAULT_MIN_FACE, max(frame_shape[:2]) / 100)


def photo_face_threshold(box: Sequence[float], face_threshold: float,
                         small_face: float = SMALL_FACE) -> float:
  """The P(face) a photo's face at `box` needs: `face_threshold`, or under `small_face`
  px `SMALL_FACE_CHECK` if higher (a face threshold of 0 counts every box)."""
  if face_threshold > 0 and geometry.box_side(box) < small_face:
    return max(face_threshold, SMALL_FACE_CHECK)
  return face_threshold


def check_region(region: Sequence[float]) -> tuple[float, float, float, float]:
  """An ignored region (x0, y0, x1, y1, fractions of the frame); ValueError if it is not one."""
  try:
    values = tuple(float(v) for v in region)
  except ValueError:
    values = ()
  if len(values) != 4 or not (0 <= values[0] < values[2] <= 1
                              and 0 <= values[1] < values[3] <= 1):
    raise ValueError(f"ignore region {','.join(map(str, region))}: expected x0,y0,x1,y1 "
                     "with x0 < x1 and y0 < y1, fractions of the frame from 0 to 1, "
                     "e.g. 0.6,0,1,0.25")
  return values


def create_detector(name: str = "default", *, min_face: float | None = None,
                    max_side: int | None = None, score_threshold: float = LOW_THRESHOLD,
                    threads: int | None = None, scene_scale: bool = False,
                    scene_options: dict | None = None,
                    mirror: bool = False) -> faces_lib.FaceDetector:
  """The live tool's face detector; CenterFace gets the scale and score settings.

  Args:
    name: a detector name (`ferjax.faces.DETECTORS`) or "default".
    min_face: smallest face to find, in frame pixels (None: CenterFace's default).
      Given, it fixes the scale of every detection (no scene scaling).
    max_side: fixed detector input size instead of the scale from `min_face`.
    score_threshold: lowest detector score returned.
    threads: CenterFace's onnxruntime threads (None: all cores).
    scene_scale: for video, detect around the faces followed, each at the scale
      it needs, and sweep the frame at the full scale a tile per round
      (`faces.scene_scale`), unless `min_face` or `max_side` fix the scale.
    scene_options: `SceneScaledDetector` settings (cell, context, gap, ...).
    mirror: for photos (CenterFace), detect in the image and in its mirror image,
      each face's score the mean of both (`faces.mirrored`); the scale still
      follows `score_threshold`.
  """
  key = faces_lib.detector_key(name)
  if key != "centerface":
    return faces_lib.create_detector(key)
  kwargs = {"score_threshold": score_threshold, "threads": threads}
  if min_face:
    kwargs["min_face"] = min_face
  if max_side:
    kwargs["max_side"] = max_side
  if mirror:
    kwargs["floor"] = min(mirrored.FLOOR, score_threshold)
  detector = faces_lib.create_detector(key, **kwargs)
  if mirror:
    return mirrored.MirroredDetector(detector)
  if scene_scale and not min_face and not max_side:
    return scene_scale_lib.SceneScaledDetector(detector, **(scene_options or {}))
  return detector


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
  rejected: int = 0           # tracks (photos: detections) not reported: not verified faces


def in_frame(box: tuple[float, ...], shape: tuple[int, ...],
             min_inside: float = 0.5) -> tuple[float, float, float, float] | None:
  """`box` clipped to a frame of `shape`, or None when less than `min_inside` of its
  area lies inside (a face leaving the frame)."""
  height, width = shape[:2]
  x0, y0, x1, y1 = box
  cx0, cy0, cx1, cy1 = max(x0, 0.0), max(y0, 0.0), min(x1, float(width)), min(y1, float(height))
  area = max(x1 - x0, 1e-6) * max(y1 - y0, 1e-6)
  if cx1 <= cx0 or cy1 <= cy0 or (cx1 - cx0) * (cy1 - cy0) < min_inside * area:
    return None
  return (cx0, cy0, cx1, cy1)


class Hindsight:
  """Hands out frame results `seconds` late, without the faces judged to be pictures
  since (`students.Students.pictures`: printed faces found by the first detection,
  which never moved). With `seconds` of at least the students' `still_s`, no picture
  is ever handed out."""

  def __init__(self, students: Students, seconds: float):
    self.students = students
    self.seconds = seconds
    self._held: collections.deque[FrameResult] = collections.deque()

  def push(self, result: FrameResult) -> Iterator[FrameResult]:
    """Holds `result`; yields, revised, the results now `seconds` older than it (each
    leaves the hold as it is yielded: a consumer that stops early loses none)."""
    self._held.append(result)
    return self._due(result.frame.timestamp - self.seconds)

  def flush(self) -> Iterator[FrameResult]:
    """Yields every result still held, revised (the source ended or was stopped)."""
    return self._due(math.inf)

  def _due(self, until_s: float) -> Iterator[FrameResult]:
    while self._held and self._held[0].frame.timestamp <= until_s:
      yield self._revised(self._held.popleft())

  def _revised(self, result: FrameResult) -> FrameResult:
    pictures = set(self.students.pictures)
    kept = [f for f in result.faces if f.track_id not in pictures]
    if len(kept) == len(result.faces):
      return result
    return dataclasses.replace(result, faces=kept,
                               rejected=result.rejected + len(result.faces) - len(kept))


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
               too_small_px: float = 0.0, face_threshold: float | None = None,
               min_new_s: float = MIN_NEW_S, seat_distance: float = SEAT_DISTANCE,
               min_change: float = MIN_CHANGE, small_face: float = SMALL_FACE,
               ignore_regions: Sequence[tuple[float, float, float, float]] = (),
               verifier=None, asynchronous: bool | None = None,
               live: bool = False, hindsight_s: float | None = None,
               unfollow_still_s: float | None = UNFOLLOW_STILL_S,
               coast_in_place: bool = True):
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
        reported, with its last smoothed emotion.
      coast_in_place: report such a face at its last detected box (False: where
        the tracker's constant-velocity prediction takes it).
      min_hits: detections in a row before a face gets an id.
      smoothing_s: time constant of the per-face emotion average.
      confidence_threshold: below this smoothed probability a face is "uncertain".
      high_threshold: detector score that may start a track.
      low_threshold: detector score that may only extend a track.
      photo_threshold: detector score of a face counted in `analyse_photo`.
      too_small_px: faces whose crop side is under this are TOO_SMALL.
      face_threshold: P(face) from which a track (or a photo's detection) is a
        face (`students.Students`); None: the one stored with the face model
        (chosen on validation data), else `students.FACE_THRESHOLD`.
      small_face: px (side sqrt(w h)) under which a photo's box needs
        `SMALL_FACE_CHECK` to be a face, whatever scale the photo is searched at
        (the tool: `--min_face`, else 14).
      verifier: a classifier with a face output that checks faces when
        `classifier` has none (only tracks not yet verified, and photos' faces,
        are read by it); with neither, every track counts.
      min_new_s: seconds a track is followed before it is a new student.
      seat_distance: face sizes within which a face takes a lost student's id
        back (0: never).
      min_change: how much the pixels where a face was first detected must change
        before it is shown as a student (`students.Students`; a picture never
        changes; 0: every face counts).
      ignore_regions: (x0, y0, x1, y1) parts of the frame, as fractions of its
        width and height, where no face is counted: a poster, a screen.
      asynchronous: detect in a worker thread (None: for a camera only). A file
        waits for each detection anyway, and on 2 cores the detector's and the
        classifier's threads contend when they run side by side (the classifier's
        batch took 2-3x longer).
      live: the source is a camera: take detections when ready, never wait (but
        for the first frame's).
      hindsight_s: seconds `stream` holds a frame's result back and revises it with
        what was learnt since (None: the students' `still_s` for a file, so that a
        picture found by the first detection is never shown; 0 for a camera).
      unfollow_still_s: seconds a face stays still (a picture) before a detector
        that follows faces (`faces.scene_scale`) is told to skip it (None: never).
    """
    if detect_every < 1:
      raise ValueError(f"detect_every must be >= 1, got {detect_every}")
    if classify_every < 1:
      raise ValueError(f"classify_every must be >= 1, got {classify_every}")
    if hindsight_s is not None and hindsight_s < 0:
      raise ValueError(f"hindsight_s must be >= 0, got {hindsight_s}")
    self.detector = detector
    if hasattr(detector, "reset"):  # A new pipeline is a new scene (`faces.scene_scale`).
      detector.reset()
    self.classifier = classifier
    self.detect_every = detect_every
    self.classify_every = classify_every
    self.too_small_px = too_small_px
    self.photo_threshold = photo_threshold
    self.live = live
    self.framing = faces_lib.framing_for(detector.name)
    # Where P(face) comes from: the classifier's own face output, else the verifier's.
    self.face_model = (classifier if getattr(classifier, "has_face_output", False)
                       else verifier)
    self.ignore_regions = [check_region(region) for region in ignore_regions]
    # The tracker counts frames; keep a lost face's id for `memory_s` seconds.
    self.tracker = Tracker(max_age=max(1, round(memory_s * fps)), min_hits=min_hits,
                           max_coast=int(coast_s * fps / detect_every),
                           high_threshold=high_threshold, low_threshold=low_threshold,
                           confirm_first_round=True,
                           new_face_speed=NEW_FACE_SPEED_S / fps)
    if face_threshold is None:
      stored = getattr(self.face_model, "metadata", {}).get("face_output") or {}
      face_threshold = float(stored.get("threshold", FACE_THRESHOLD))
    self.students = Students(face_threshold=face_threshold, min_new_s=min_new_s,
                             seat_distance=seat_distance, min_change=min_change)
    self.small_face = small_face
    if hindsight_s is None:  # Long enough for the first detection's faces to be judged.
      hindsight_s = 0.0 if live else self.students.still_s
    self.hindsight_s = hindsight_s
    self.unfollow_still_s = unfollow_still_s
    self.coast_in_place = coast_in_place
    self._hindsight = Hindsight(self.students, hindsight_s)  # For `stream`.
    self.smoother = EmotionSmoother(classifier.class_names, time_constant_s=smoothing_s,
                                    threshold=confidence_threshold)
    if asynchronous is None:
      asynchronous = live
    self._executor = (futures.ThreadPoolExecutor(1, thread_name_prefix="detector")
                      if asynchronous else None)
    self._pending: _Pending | None = None
    self._frames_since_submit = detect_every  # Submit on the first frame.
    self._started = False
    self._photo_ids = 0

  # Detection.

  def _faces_in(self, image: np.ndarray) -> list[Detection]:
    """The detector's faces, but for those whose centre lies in an ignored region."""
    detections = self.detector.detect(image)
    if not self.ignore_regions:
      return detections
    height, width = image.shape[:2]
    ignored = lambda x, y: any(x0 <= x / width <= x1 and y0 <= y / height <= y1
                               for x0, y0, x1, y1 in self.ignore_regions)
    return [d for d in detections
            if not ignored((d.box[0] + d.box[2]) / 2, (d.box[1] + d.box[3]) / 2)]

  def _detect(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Boxes, scores and eye-line tilts (`faces.eye_roll`) of the faces in `image`."""
    detections = self._faces_in(image)
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

    if not self._started:  # The first frame's faces at once, a camera's too.
      self._started = True
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
                               self.tracker.copy())
      self._frames_since_submit = 0
    if self._pending is not None:
      self._pending.frames_since += 1
    return self.tracker.predict_only(), fused, waited

  # Classification.

  def _read(self, frame: Frame, boxes: list[tuple[float, ...]], rolls: list[float],
            check: list[bool]) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Crops (turned upright by `rolls`), their emotions, and P(face) of those to `check`.

    Returns (crops, emotion probabilities, P(face) or None without a face model;
    NaN where not checked). The classifier's own face output comes with its
    emotions. A separate verifier reads the crops to check first; the classifier
    then reads only the faces already verified and those this reading takes for a
    face (the others' emotion rows are NaN): a bag is never read for emotions.
    """
    crops = faces_lib.crop_faces(frame.image, boxes, framing=self.framing, rolls=rolls)
    num_classes = len(self.classifier.class_names)
    if not len(crops):
      return crops, np.zeros((0, num_classes), np.float32), None
    if self.face_model is self.classifier:
      return (crops, *self.classifier.predict_with_face(crops))
    if self.face_model is None:
      return crops, self.classifier.predict(crops), None
    check = np.asarray(check, bool)
    face = np.full(len(crops), np.nan, np.float32)
    if check.any():
      face[check] = self.face_model.predict_with_face(crops[check])[1]
    wanted = ~check | (face >= self.students.face_threshold)
    probabilities = np.full((len(crops), num_classes), np.nan, np.float32)
    if wanted.any():
      probabilities[wanted] = self.classifier.predict(crops[wanted])
    return crops, probabilities, face

  def _shown_box(self, track: Track) -> np.ndarray:
    """Where a track's face is reported: a lost face stays where it was last detected
    (`coast_in_place`). In the realistic lesson 26% of the predicted boxes of lost
    faces missed the face (a head bowing on, the prediction running on past it), 19%
    of the boxes left in place (BENCHMARKS.md, "Live pipeline")."""
    if self.coast_in_place and track.missed_rounds > 0 and track.observed is not None:
      return track.observed
    return track.box

  def _face(self, student: int, box: tuple[float, ...], side: float, score: float | None,
            reading: tuple[np.ndarray, np.ndarray] | None, timestamp: float,
            smooth: bool) -> TrackedFace:
    """The reported face of a student: read now, held (last emotion), or too small."""
    if side < self.too_small_px:
      return TrackedFace(student, box, None, None, TOO_SMALL, None, side, score)
    if reading is None:
      last = self.smoother.get(student, timestamp)
      return TrackedFace(student, box, None, None if last is None else last.probs,
                         UNCERTAIN if last is None else last.label, None, side, score)
    crop, probs = reading
    if smooth:
      smoothed = self.smoother.update(student, probs, timestamp)
      return TrackedFace(student, box, probs, smoothed.probs, smoothed.label, crop, side,
                         score)
    return TrackedFace(student, box, probs, probs, self.smoother.label_of(probs), crop,
                       side, score)

  # Public.

  def process(self, frame: Frame) -> FrameResult:
    """One video frame: the students' faces with stable ids and smoothed emotions.

    Tracks not (yet) verified as faces (`students.Students`) are read when due
    but not reported.
    """
    timings = dict.fromkeys(STAGES, 0.0)
    start = time.perf_counter()
    tracks, detected, timings["detect"] = self._step_tracker(frame)
    self.students.update_tracks(tracks, frame.timestamp, self.tracker.active_ids,
                                frame.image)
    if detected and self.unfollow_still_s is not None and hasattr(self.detector, "skip"):
      self.detector.skip(self.students.still_boxes(self.unfollow_still_s))  # Pictures.
    self.smoother.prune(self.students.active_students())
    timings["track"] = time.perf_counter() - start - timings["detect"]
    start = time.perf_counter()
    boxes = [tuple(float(v) for v in self._shown_box(t)) for t in tracks]
    sides = [faces_lib.crop_square(box, self.framing)[2] for box in boxes]
    if self.face_model is None:  # No face output anywhere: every track counts.
      students = [self.students.observe(t.id, None, frame.timestamp) for t in tracks]
    else:
      students = [self.students.student_of(t.id) for t in tracks]
    due = []
    for i, (t, student) in enumerate(zip(tracks, students)):
      if t.missed_rounds > 0:  # Coasting on a prediction: nothing new to read.
        continue
      in_turn = (t.id + frame.index) % self.classify_every == 0
      if student is None:  # Read at once, then in turn, until verified as a face.
        if in_turn or not self.students.readings(t.id):
          due.append(i)
      elif sides[i] >= self.too_small_px and (student not in self.smoother or in_turn):
        due.append(i)
    crops, probabilities, face = self._read(
        frame, [boxes[i] for i in due], [tracks[i].roll for i in due],
        [students[i] is None for i in due])
    read = {i: (crops[k], probabilities[k], None if face is None else face[k])
            for k, i in enumerate(due)}
    for i, (t, student) in enumerate(zip(tracks, students)):
      if student is None and i in read:
        self.students.observe(t.id, read[i][2], frame.timestamp)
    results, rejected = [], 0
    for i, t in enumerate(tracks):
      # After this frame's readings: a face that took a lost student's id back has
      # taken it from the track that coasted with it.
      student = self.students.student_of(t.id)
      if student is None:
        rejected += 1
        continue
      shown = in_frame(boxes[i], frame.image.shape)
      if shown is None:  # The face has left the frame: nothing of it to show.
        continue
      reading = read[i][:2] if i in read and not np.isnan(read[i][1][0]) else None
      results.append(self._face(student, shown, sides[i], t.score, reading,
                                frame.timestamp, smooth=True))
    timings["classify"] = time.perf_counter() - start
    return FrameResult(frame, results, timings, detected, rejected)

  def stream(self, frames: Iterable[Frame]) -> Iterator[FrameResult]:
    """`process` over `frames`, each result `hindsight_s` late and revised (`Hindsight`):
    a file never shows a picture found by its first detection. The results come in
    frame order, the last ones when `frames` ends."""
    for frame in frames:
      yield from self._hindsight.push(self.process(frame))
    yield from self._hindsight.flush()

  def held_back(self) -> list[FrameResult]:
    """The results `stream` still holds back, revised, when it was stopped early (a
    signal, an error, the window closed): the frames analysed are not lost."""
    return list(self._hindsight.flush())

  def analyse_photo(self, frame: Frame) -> FrameResult:
    """One still image on its own: every face of `photo_threshold` verified as a face.

    Detections the model does not take for a face (P(face) under
    `photo_face_threshold`) are dropped and counted in `rejected`; ids are new to
    this pipeline.
    """
    timings = dict.fromkeys(STAGES, 0.0)
    start = time.perf_counter()
    detections: list[Detection] = [d for d in self._faces_in(frame.image)
                                   if d.score >= self.photo_threshold]
    timings["detect"] = time.perf_counter() - start
    start = time.perf_counter()
    boxes = [tuple(float(v) for v in d.box) for d in detections]
    crops, probabilities, face = self._read(frame, boxes,
                                            [faces_lib.eye_roll(d) for d in detections],
                                            [True] * len(detections))
    keep = [i for i in range(len(detections))
            if face is None or face[i] >= self.photo_face_threshold(boxes[i])]
    results = []
    for i in keep:
      self._photo_ids += 1
      side = faces_lib.crop_square(boxes[i], self.framing)[2]
      results.append(self._face(self._photo_ids, boxes[i], side, detections[i].score,
                                (crops[i], probabilities[i]), frame.timestamp, smooth=False))
    timings["classify"] = time.perf_counter() - start
    return FrameResult(frame, results, timings, True, len(detections) - len(keep))

  def photo_face_threshold(self, box: Sequence[float]) -> float:
    """The P(face) a photo's face at `box` needs (`photo_face_threshold`)."""
    return photo_face_threshold(box, self.students.face_threshold, self.small_face)

  def verification(self) -> dict[str, Any]:
    """How detections were verified as faces, and how many tracks were not."""
    if self.face_model is None:
      verified_by = "none: no model with a face output"
    elif self.face_model is self.classifier:
      verified_by = "the model's face output"
    else:
      verified_by = f"the face output of {self.face_model.model_dir}"
    return {"verified_by": verified_by,
            "face_threshold": (None if self.face_model is None
                               else self.students.face_threshold),
            "rejected_tracks": self.students.rejected_tracks,
            "still_tracks": self.students.still_tracks,
            "pictures": self.students.pictures,
            "seat_returns": self.students.seat_returns}

  def close(self, wait: bool = False) -> None:
    """Stops the detection worker; a running detection finishes in the background, or
    before this returns with `wait` (so that it takes no CPU from what comes next)."""
    if self._executor is not None:
      self._executor.shutdown(wait=wait, cancel_futures=True)
      self._pending = None

  def __enter__(self) -> LivePipeline:
    return self

  def __exit__(self, *exc_info) -> None:
    self.close()
