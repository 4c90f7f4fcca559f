"""SORT-style multi-object tracking of face boxes (numpy + scipy only).

Each track carries a constant-velocity Kalman filter on the box centre, area
and aspect ratio (the state of Bewley et al., "Simple Online and Realtime
Tracking", 2016). Every frame the filters predict, detections are matched to
tracks by IoU with the Hungarian algorithm, matched filters are corrected and
unmatched detections start new tentative tracks. Matching runs in three
rounds, established tracks first: confirmed tracks by predicted box, then the
confirmed tracks left over by their last detected box (a student who sat
still behind an occluder is found again even when partial occlusion skewed the
velocity and the prediction drifted off), then tentative tracks.

    tracker = Tracker(iou_threshold=0.3, max_age=30, min_hits=3)
    for frame in frames:
      if frame.index % detect_every == 0:
        tracks = tracker.update(boxes, scores)   # boxes: (n, 4) x0, y0, x1, y1
        ids = tracker.detection_ids             # track id of detection i, or -1
      else:
        tracks = tracker.predict_only()          # Kalman-bridged boxes

Lifecycle:
  * A new track is tentative. It becomes confirmed after `min_hits` matched
    detection rounds in a row; a tentative track that misses one round is
    dropped. Confirmation assigns the public `id`: 1, 2, 3, ... in order of
    confirmation, never reused within one tracker's life.
  * A confirmed track survives `max_age` frames (calls to `update` or
    `predict_only`) without a matched detection, so a face that is briefly
    lost or occluded keeps its id; after that it is deleted for good.
  * Reported tracks are the confirmed ones that matched a detection in the
    last `max_coast` + 1 detection rounds. `predict_only` frames do not count
    as misses: a face seen at the last detection round stays on screen with
    its predicted box until the next round.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy import optimize

from ferjax.faces.geometry import iou as iou_matrix  # (n, 4), (m, 4) -> (n, m)


def _box_to_z(box: np.ndarray) -> np.ndarray:
  """x0y0x1y1 -> measurement [cx, cy, area, aspect (w / h)]."""
  w = max(float(box[2] - box[0]), 1e-3)
  h = max(float(box[3] - box[1]), 1e-3)
  return np.array([box[0] + w / 2, box[1] + h / 2, w * h, w / h])


def _x_to_box(x: np.ndarray) -> np.ndarray:
  """State [cx, cy, area, aspect, ...] -> x0y0x1y1."""
  area = max(float(x[0 + 2]), 1e-6)
  aspect = max(float(x[3]), 1e-6)
  w = np.sqrt(area * aspect)
  h = area / w
  return np.array([x[0] - w / 2, x[1] - h / 2, x[0] + w / 2, x[1] + h / 2])


class BoxKalmanFilter:
  """Constant-velocity Kalman filter on [cx, cy, area, aspect] (aspect static).

  State: [cx, cy, area, aspect, vcx, vcy, varea]. Noise settings follow SORT:
  the aspect ratio and the velocities start very uncertain, the measured
  area and aspect are noisier than the centre.
  """

  def __init__(self, box: np.ndarray):
    self.F = np.eye(7)  # pylint: disable=invalid-name
    self.F[0, 4] = self.F[1, 5] = self.F[2, 6] = 1.0
    self.H = np.eye(4, 7)  # pylint: disable=invalid-name
    self.R = np.diag([1.0, 1.0, 10.0, 10.0])  # pylint: disable=invalid-name
    self.Q = np.eye(7)  # pylint: disable=invalid-name
    self.Q[4:, 4:] *= 0.01
    self.Q[6, 6] *= 0.01
    self.P = np.eye(7) * 10.0  # pylint: disable=invalid-name
    self.P[4:, 4:] *= 1000.0
    self.x = np.zeros(7)
    self.x[:4] = _box_to_z(box)

  def predict(self) -> np.ndarray:
    """Advances one frame; returns the predicted box."""
    if self.x[2] + self.x[6] <= 0:  # Keep the area positive.
      self.x[6] = 0.0
    self.x = self.F @ self.x
    self.P = self.F @ self.P @ self.F.T + self.Q
    return self.box

  def correct(self, box: np.ndarray) -> None:
    """Folds in a measured box."""
    residual = _box_to_z(box) - self.H @ self.x
    s = self.H @ self.P @ self.H.T + self.R
    gain = np.linalg.solve(s, self.H @ self.P).T
    self.x = self.x + gain @ residual
    self.P = (np.eye(7) - gain @ self.H) @ self.P

  @property
  def box(self) -> np.ndarray:
    return _x_to_box(self.x)


@dataclasses.dataclass(frozen=True)
class Track:
  """A snapshot of one reported track after a tracker step.

  Attributes:
    id: stable anonymous id (1, 2, ...), never reused within a tracker.
    box: float (4,) x0, y0, x1, y1: the corrected box when matched this
      frame, else the Kalman prediction.
    score: detector score of the last matched detection (None if not given).
    hits: matched detection rounds over the track's life.
    age: frames since the track started.
    time_since_update: frames since the last matched detection (0: matched
      in this frame).
    detection_index: index of the input detection matched in this frame, or
      None on predicted frames.
  """
  id: int
  box: np.ndarray
  score: float | None
  hits: int
  age: int
  time_since_update: int
  detection_index: int | None

  @property
  def is_predicted(self) -> bool:
    return self.time_since_update > 0


class _TrackState:
  """Mutable state behind a track."""

  def __init__(self, box: np.ndarray, score: float | None):
    self.filter = BoxKalmanFilter(box)
    self.id = -1  # Assigned on confirmation.
    self.score = score
    self.hits = 1
    self.hit_streak = 1
    self.misses = 0  # Detection rounds in a row without a match.
    self.age = 0
    self.time_since_update = 0
    self.detection_index: int | None = None
    self.box = np.asarray(box, np.float64).copy()
    self.observed = self.box.copy()  # Last detected box.

  @property
  def confirmed(self) -> bool:
    return self.id >= 0

  def snapshot(self) -> Track:
    return Track(id=self.id, box=self.box.copy(), score=self.score, hits=self.hits,
                 age=self.age, time_since_update=self.time_since_update,
                 detection_index=self.detection_index)


class Tracker:
  """Assigns stable ids to face boxes across frames (see module docstring)."""

  def __init__(self, iou_threshold: float = 0.3, max_age: int = 30, min_hits: int = 3,
               max_coast: int = 0):
    """Creates an empty tracker.

    Args:
      iou_threshold: smallest IoU between a predicted box and a detection for
        them to be matched.
      max_age: frames a confirmed track lives on without a matched detection.
      min_hits: matched detection rounds in a row before a track is confirmed
        (gets an id and is reported); 1 confirms on first sight.
      max_coast: detection rounds a confirmed track may miss and still be
        reported with its predicted box (0: only tracks seen in the last
        round are reported).
    """
    if min_hits < 1:
      raise ValueError(f"min_hits must be >= 1, got {min_hits}")
    self.iou_threshold = iou_threshold
    self.max_age = max_age
    self.min_hits = min_hits
    self.max_coast = max_coast
    self._tracks: list[_TrackState] = []
    self._next_id = 1
    self.frame_count = 0
    self.detection_ids = np.zeros((0,), np.int64)

  @property
  def active_ids(self) -> set[int]:
    """Ids of every live confirmed track, reported or not (e.g. to prune state)."""
    return {t.id for t in self._tracks if t.confirmed}

  @property
  def num_ids(self) -> int:
    """How many ids this tracker has handed out."""
    return self._next_id - 1

  def update(self, boxes: np.ndarray | None = None,
             scores: np.ndarray | None = None) -> list[Track]:
    """One frame with detections; returns the reported tracks.

    Args:
      boxes: (n, 4) x0, y0, x1, y1 detections (n may be 0; None is 0).
      scores: optional (n,) detector scores, kept on the tracks.

    Returns:
      Reported tracks, sorted by id. After the call `detection_ids[i]` is the
      id of the confirmed track detection i fed, or -1 (tentative track).
    """
    boxes = (np.zeros((0, 4)) if boxes is None
             else np.asarray(boxes, np.float64).reshape(-1, 4))
    if scores is not None:
      scores = np.asarray(scores, np.float64).reshape(-1)
      if len(scores) != len(boxes):
        raise ValueError(f"{len(scores)} scores for {len(boxes)} boxes")
    self._predict_all()

    matches, unmatched_tracks, unmatched_dets = self._associate(boxes)
    for ti, di in matches:
      track = self._tracks[ti]
      track.filter.correct(boxes[di])
      track.box = boxes[di].copy()
      track.observed = boxes[di].copy()
      track.score = None if scores is None else float(scores[di])
      track.hits += 1
      track.hit_streak += 1
      track.misses = 0
      track.time_since_update = 0
      track.detection_index = int(di)
      if not track.confirmed and track.hit_streak >= self.min_hits:
        self._confirm(track)
    for ti in unmatched_tracks:
      track = self._tracks[ti]
      track.hit_streak = 0
      track.misses += 1
    for di in unmatched_dets:
      track = _TrackState(boxes[di], None if scores is None else float(scores[di]))
      track.detection_index = int(di)
      if self.min_hits <= 1:
        self._confirm(track)
      self._tracks.append(track)

    # Tentative tracks die on their first miss; confirmed ones after max_age.
    self._tracks = [t for t in self._tracks
                    if (t.confirmed and t.time_since_update <= self.max_age)
                    or (not t.confirmed and t.misses == 0)]
    self.detection_ids = np.full((len(boxes),), -1, np.int64)
    for t in self._tracks:
      if t.detection_index is not None:
        self.detection_ids[t.detection_index] = t.id
    return self._reported()

  def predict_only(self) -> list[Track]:
    """One frame without detection: tracks move by their Kalman prediction."""
    self._predict_all()
    self._tracks = [t for t in self._tracks
                    if not t.confirmed or t.time_since_update <= self.max_age]
    self.detection_ids = np.zeros((0,), np.int64)
    return self._reported()

  def _predict_all(self) -> None:
    self.frame_count += 1
    for t in self._tracks:
      t.box = t.filter.predict()
      t.age += 1
      t.time_since_update += 1
      t.detection_index = None

  def _confirm(self, track: _TrackState) -> None:
    track.id = self._next_id
    self._next_id += 1

  def _match(self, track_indices: list[int], track_boxes: np.ndarray,
             det_indices: list[int], boxes: np.ndarray
             ) -> tuple[list[tuple[int, int]], list[int], list[int]]:
    """Hungarian matching on IoU; pairs under the threshold stay unmatched."""
    if not track_indices or not det_indices:
      return [], track_indices, det_indices
    iou = iou_matrix(track_boxes, boxes[det_indices])
    rows, cols = optimize.linear_sum_assignment(-iou)
    pairs = [(r, c) for r, c in zip(rows, cols) if iou[r, c] >= self.iou_threshold]
    matched_t = {r for r, _ in pairs}
    matched_d = {c for _, c in pairs}
    return ([(track_indices[r], det_indices[c]) for r, c in pairs],
            [t for i, t in enumerate(track_indices) if i not in matched_t],
            [d for i, d in enumerate(det_indices) if i not in matched_d])

  def _associate(self, boxes: np.ndarray
                 ) -> tuple[list[tuple[int, int]], list[int], list[int]]:
    """Matches detections to tracks in three rounds, established tracks first.

    1. confirmed tracks, by their predicted boxes;
    2. confirmed tracks still unmatched, by their last detected boxes: a face
       that stayed put while hidden is found again even when its prediction
       drifted (partial occlusion skews the estimated velocity);
    3. tentative tracks, by their predicted boxes.
    """
    confirmed = [i for i, t in enumerate(self._tracks) if t.confirmed]
    tentative = [i for i, t in enumerate(self._tracks) if not t.confirmed]
    dets = list(range(len(boxes)))

    def boxes_of(indices, attribute):
      return np.array([getattr(self._tracks[i], attribute) for i in indices]).reshape(-1, 4)

    first, confirmed, dets = self._match(confirmed, boxes_of(confirmed, "box"), dets, boxes)
    second, confirmed, dets = self._match(confirmed, boxes_of(confirmed, "observed"), dets,
                                          boxes)
    third, tentative, dets = self._match(tentative, boxes_of(tentative, "box"), dets, boxes)
    return first + second + third, confirmed + tentative, dets

  def _reported(self) -> list[Track]:
    return sorted((t.snapshot() for t in self._tracks
                   if t.confirmed and t.misses <= self.max_coast),
                  key=lambda t: t.id)
