"""SORT-style multi-object tracking of face boxes (numpy + scipy only).

Each track carries a constant-velocity Kalman filter on the box centre, area
and aspect ratio (the state of Bewley et al., "Simple Online and Realtime
Tracking", 2016), with noise relative to the face size. Every frame the
filters predict, detections are matched to tracks with the Hungarian
algorithm, matched filters are corrected and unmatched detections start new
tentative tracks. A pair matches when its IoU reaches `iou_threshold` or,
for the 12-25 px faces at the back of a classroom whose jittered boxes
overlap little, when the centres lie within `center_gate` face sizes
(`match_affinity`).

Detections come in two kinds, as in ByteTrack (Zhang et al., 2022): high
ones (score >= `high_threshold`) are matched first and may start tracks; low
ones (`low_threshold` <= score < `high_threshold`: a student writing with the
head down, half turned away) only keep existing tracks going. Matching runs
in rounds, established tracks and sure detections first (`_associate`):
confirmed tracks take high detections by predicted box, then by last
detected box (a student who sat still behind an occluder is found again even
when partial occlusion skewed the velocity and the prediction drifted off),
then low detections the same way; tentative tracks come last.

    tracker = Tracker(max_age=round(6.0 * fps), min_hits=2)
    for frame in frames:
      if frame.index % detect_every == 0:
        tracks = tracker.update(boxes, scores)   # boxes: (n, 4) x0, y0, x1, y1
        ids = tracker.detection_ids             # track id of detection i, or -1
      else:
        tracks = tracker.predict_only()          # Kalman-bridged boxes

Lifecycle:
  * Only a high detection farther than 0.75 face sizes from every confirmed
    track's last box starts a track: a second box on a face that is already
    tracked would split it. A new track is tentative. It becomes confirmed
    after `min_hits` matched detection rounds in a row (high or low); a
    tentative track that misses one round is dropped; with no velocity yet, it
    takes a detection as far away as a face moves in the frames since its own
    (`new_face_speed` face sizes a frame, at most one), as does a confirmed
    track seen only once. Exception: the high
    detections of the very first round start confirmed tracks
    (`confirm_first_round`), so the faces present when a session starts are
    reported at once. Confirmation assigns
    the public `id`: 1, 2, 3, ... in order of confirmation, never reused
    within one tracker's life.
  * A confirmed track survives `max_age` frames (calls to `update` or
    `predict_only`) without a matched detection, so a face that is briefly
    lost or occluded keeps its id; after that it is deleted for good. A
    student looking down for a few seconds gives no or low-score detections:
    `max_age` of about 6 s keeps the id (`benchmarks/tracker_settings.py`).
  * A track born while an older one was lost, that comes within 0.75 face
    sizes of the older one's last box, is that face split off: it is folded
    back into the older id.
  * Reported tracks are the confirmed ones that matched a detection in the
    last `max_coast` + 1 detection rounds. `predict_only` frames do not count
    as misses: a face seen at the last detection round stays on screen with
    its predicted box until the next round.

A tracker is plain Python and numpy state: `Tracker.copy` gives an
independent tracker to replay frames from.
"""

from __future__ import annotations

import copy
import dataclasses

import numpy as np
from scipy import optimize

from ferjax.faces.geometry import iou as iou_matrix  # (n, 4), (m, 4) -> (n, m)

_INADMISSIBLE = 1e6  # Assignment cost of a pair that may not match.
# Boxes of similar size whose centres lie closer than this, in face sizes, are
# one face: a lost track takes such a detection back by its last box, no new
# track starts there, and a track split off there is folded back.
_SAME_FACE_DISTANCE = 0.75
# A track seen once has no velocity yet: the face may have moved by this many of its
# sizes a second before the next detection (a teacher walking past), up to one size
# (detections 0.2 s apart, a camera's pace while the classifier is busy; people
# walking toward a 12.5 FPS camera, every 4th frame). Trackers count frames: the
# default is this speed at 30 FPS (0.15 a frame).
NEW_FACE_SPEED_S = 4.5
NEW_FACE_SPEED = NEW_FACE_SPEED_S / 30
_NEW_FACE_TRAVEL = 1.0


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

  State: [cx, cy, area, aspect, vcx, vcy, varea]. The noise scales with the
  face size s = sqrt(area), so a 12 px and a 120 px face are filtered alike: a
  detector places the centre to within about `measurement_noise` * s (1-2 px
  on a 12-25 px face) and the sides to within twice that, and a face's
  velocity drifts by about `velocity_noise` * s per frame. A seated student
  barely moves, so jitter hardly moves the estimated velocity, and a face that
  is lost for a few seconds is predicted near where it was, not flung away.
  """

  # Prior on a new face: the centre may move a tenth of the face size a frame,
  # the area change by 2 % a frame; the area's velocity drifts 10x slower.
  INITIAL_VELOCITY = 0.1
  INITIAL_AREA_VELOCITY = 0.02
  AREA_VELOCITY_NOISE = 0.1
  # Transition (constant velocity) and measurement matrices: shared by every filter.
  F = np.eye(7)  # pylint: disable=invalid-name
  F[0, 4] = F[1, 5] = F[2, 6] = 1.0
  H = np.eye(4, 7)  # pylint: disable=invalid-name
  _DIAGONAL = np.diag_indices(7)

  def __init__(self, box: np.ndarray, measurement_noise: float = 0.1,
               velocity_noise: float = 0.002):
    self.measurement_noise = measurement_noise
    self.velocity_noise = velocity_noise
    self.x = np.zeros(7)
    self.x[:4] = _box_to_z(box)
    s, area, _ = self._size()
    velocity_std = np.array([s, s, 0.0]) * self.INITIAL_VELOCITY
    velocity_std[2] = self.INITIAL_AREA_VELOCITY * area
    std = np.concatenate([self._measurement_std(), velocity_std])
    self.P = np.diag(std ** 2)  # pylint: disable=invalid-name

  def _size(self) -> tuple[float, float, float]:
    """Side s, area and aspect ratio of the face, as the state has them."""
    area = max(float(self.x[2]), 1.0)
    return np.sqrt(area), area, max(float(self.x[3]), 0.1)

  def _measurement_std(self) -> np.ndarray:
    s, area, aspect = self._size()
    # A side is the difference of two jittered edges, the centre their mean:
    # twice as noisy, so the area is noisier by 2 * 2 and the aspect by 2 * sqrt(2).
    return self.measurement_noise * np.array([s, s, 4 * area, 3 * aspect])

  @property
  def R(self) -> np.ndarray:  # pylint: disable=invalid-name
    """Measurement noise covariance (4, 4)."""
    return np.diag(self._measurement_std() ** 2)

  def _process_variance(self) -> np.ndarray:
    """Diagonal (7,) of the process noise covariance: a random walk of the velocities."""
    s, area, aspect = self._size()
    v = self.velocity_noise
    return np.array([0, 0, 0, 0.1 * v * aspect, v * s, v * s,
                     self.AREA_VELOCITY_NOISE * v * area]) ** 2

  def predict(self) -> np.ndarray:
    """Advances one frame; returns the predicted box."""
    if self.x[2] + self.x[6] <= 0:  # Keep the area positive.
      self.x[6] = 0.0
    self.x = self.F @ self.x
    self.P = self.F @ self.P @ self.F.T
    self.P[self._DIAGONAL] += self._process_variance()
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

  def copy(self) -> BoxKalmanFilter:
    """An independent copy."""
    other = copy.copy(self)
    other.x, other.P = self.x.copy(), self.P.copy()
    return other


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
    missed_rounds: detection rounds in a row without a matched detection
      (> 0: the track coasts on its prediction, see `max_coast`).
    detection_index: index of the input detection matched in this frame, or
      None on predicted frames.
    roll: eye-line tilt in degrees of the last matched detection (0 if not given),
      which turns the face upright in the crop (`ferjax.faces.crop_face`).
    observed: the box of the last matched detection (None: `box`); a detection
      fused late (the pipeline's worker) is new when `hits` grows.
  """
  id: int
  box: np.ndarray
  score: float | None
  hits: int
  age: int
  time_since_update: int
  detection_index: int | None
  missed_rounds: int = 0
  roll: float = 0.0
  observed: np.ndarray | None = None

  @property
  def is_predicted(self) -> bool:
    return self.time_since_update > 0


class _TrackState:
  """Mutable state behind a track."""

  def __init__(self, box: np.ndarray, score: float | None, roll: float = 0.0):
    self.filter = BoxKalmanFilter(box)
    self.id = -1  # Assigned on confirmation.
    self.score = score
    self.roll = roll
    self.hits = 1
    self.hit_streak = 1
    self.misses = 0  # Detection rounds in a row without a match.
    self.age = 0
    self.time_since_update = 0
    self.detection_index: int | None = None
    self.box = np.asarray(box, np.float64).copy()
    self.observed = self.box.copy()  # Last detected box.
    self.lost_at_birth: frozenset[int] = frozenset()  # Ids missing at its start.

  @property
  def confirmed(self) -> bool:
    return self.id >= 0

  def take_over(self, other: _TrackState) -> None:
    """Continues with `other`'s filter and latest match, keeping id and age."""
    for name in ("filter", "score", "roll", "hit_streak", "misses", "time_since_update",
                 "detection_index", "box", "observed"):
      setattr(self, name, getattr(other, name))
    self.hits += other.hits

  def copy(self) -> _TrackState:
    """An independent copy."""
    other = copy.copy(self)
    other.filter = self.filter.copy()
    other.box, other.observed = self.box.copy(), self.observed.copy()
    return other

  def snapshot(self) -> Track:
    return Track(id=self.id, box=self.box.copy(), score=self.score, hits=self.hits,
                 age=self.age, time_since_update=self.time_since_update,
                 detection_index=self.detection_index, missed_rounds=self.misses,
                 roll=self.roll, observed=self.observed.copy())


def match_affinity(track_boxes: np.ndarray, boxes: np.ndarray, iou_threshold: float,
                   center_gate: float | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
  """How well each track box fits each detection, and which pairs may match.

  A pair may match when its IoU reaches `iou_threshold`, or when the centres
  lie within `center_gate` face sizes of each other (size: the mean side,
  sqrt(area), of the two boxes) and neither side differs by more than a factor
  of 2. The second test keeps tiny faces matched: two boxes of a 12 px face
  that the detector placed 3 px apart overlap with an IoU of only about 0.3.

  Args:
    track_boxes: (n, 4) x0, y0, x1, y1 boxes of the tracks.
    boxes: (m, 4) detections.
    iou_threshold: smallest IoU that admits a pair on its own.
    center_gate: largest centre distance, in face sizes, that admits a pair
      of similar size whatever its IoU (0: IoU only); (n, 1) for one per track.

  Returns:
    affinity: (n, m) IoU minus the centre distance in face sizes (the higher,
      the better the fit).
    admissible: (n, m) bool, the pairs that may match.
  """
  a = np.asarray(track_boxes, np.float64).reshape(-1, 4)
  b = np.asarray(boxes, np.float64).reshape(-1, 4)
  iou = iou_matrix(a, b)
  wh_a = np.maximum(a[:, 2:] - a[:, :2], 1e-3)
  wh_b = np.maximum(b[:, 2:] - b[:, :2], 1e-3)
  size = (np.sqrt(wh_a.prod(1))[:, None] + np.sqrt(wh_b.prod(1))[None, :]) / 2
  centres_a = (a[:, :2] + a[:, 2:]) / 2
  centres_b = (b[:, :2] + b[:, 2:]) / 2
  distance = np.linalg.norm(centres_a[:, None] - centres_b[None, :], axis=-1) / size
  side_ratio = np.abs(np.log(wh_a[:, None] / wh_b[None, :])).max(-1)
  near = (distance <= center_gate) & (side_ratio <= np.log(2.0))
  return iou - distance, (iou >= iou_threshold) | near


class Tracker:
  """Assigns stable ids to face boxes across frames (see module docstring)."""

  def __init__(self, iou_threshold: float = 0.3, max_age: int = 30, min_hits: int = 3,
               max_coast: int = 0, high_threshold: float = 0.5,
               low_threshold: float = 0.25, center_gate: float = 0.5,
               confirm_first_round: bool = False, new_face_speed: float = NEW_FACE_SPEED):
    """Creates an empty tracker.

    Args:
      iou_threshold: smallest IoU between a track's box and a detection for
        them to be matched.
      max_age: frames a confirmed track lives on without a matched detection.
      min_hits: matched detection rounds in a row before a track is confirmed
        (gets an id and is reported); 1 confirms on first sight.
      confirm_first_round: high detections of the first `update` start
        confirmed tracks (no `min_hits` wait at the start of a session).
      max_coast: detection rounds a confirmed track may miss and still be
        reported with its predicted box (0: only tracks seen in the last
        round are reported).
      high_threshold: detections scored at least this are matched first and
        may start tracks. 0.5 is CenterFace's own threshold, above which
        stray boxes are rare.
      low_threshold: detections scored in [low_threshold, high_threshold)
        only extend tracks that no high detection matched (confirmed ones,
        and tentative ones, which they may confirm); lower ones are ignored.
        At 0.25 a small face looking down still scores (on a 640x352 class
        ~10 faces a frame score >= 0.35, ~5.6 >= 0.5); run the detector at
        this threshold or below. Strays in the band start nothing, and
        extend a track only near where its face was.
      center_gate: a track and a detection of similar size also match when
        their centres are within this many face sizes, whatever their IoU
        (see `match_affinity`; 0: IoU only). At 0.5 neighbours, 1.5 face
        sizes apart or more, stay well outside; a lost track takes a
        detection back by its last box within max(center_gate, 0.75).
      new_face_speed: face sizes a face seen once may move a frame (by the source's
        frame rate: 4.5 a second).
    """
    if min_hits < 1:
      raise ValueError(f"min_hits must be >= 1, got {min_hits}")
    self.confirm_first_round = confirm_first_round
    self._rounds = 0  # Calls of `update`.
    if low_threshold > high_threshold:
      raise ValueError(f"low_threshold {low_threshold} > high_threshold {high_threshold}")
    self.iou_threshold = iou_threshold
    self.max_age = max_age
    self.min_hits = min_hits
    self.max_coast = max_coast
    self.high_threshold = high_threshold
    self.low_threshold = low_threshold
    self.center_gate = center_gate
    self.new_face_speed = new_face_speed
    self._tracks: list[_TrackState] = []
    self._next_id = 1
    self.frame_count = 0
    self.detection_ids = np.zeros((0,), np.int64)

  def copy(self) -> Tracker:
    """An independent copy of the tracker's state (`copy.deepcopy` does the same, slower)."""
    other = copy.copy(self)
    other._tracks = [t.copy() for t in self._tracks]  # pylint: disable=protected-access
    other.detection_ids = self.detection_ids.copy()
    return other

  @property
  def active_ids(self) -> set[int]:
    """Ids of every live confirmed track, reported or not (e.g. to prune state)."""
    return {t.id for t in self._tracks if t.confirmed}

  @property
  def num_ids(self) -> int:
    """How many ids this tracker has handed out."""
    return self._next_id - 1

  def update(self, boxes: np.ndarray | None = None, scores: np.ndarray | None = None,
             rolls: np.ndarray | None = None) -> list[Track]:
    """One frame with detections; returns the reported tracks.

    Args:
      boxes: (n, 4) x0, y0, x1, y1 detections (n may be 0; None is 0).
      scores: optional (n,) detector scores, kept on the tracks and compared
        with `high_threshold` and `low_threshold`; None: every detection is
        high.
      rolls: optional (n,) eye-line tilts in degrees, kept on the tracks.

    Returns:
      Reported tracks, sorted by id. After the call `detection_ids[i]` is the
      id of the confirmed track detection i fed, or -1 (a tentative track, or
      none).
    """
    boxes = (np.zeros((0, 4)) if boxes is None
             else np.asarray(boxes, np.float64).reshape(-1, 4))
    if scores is not None:
      scores = np.asarray(scores, np.float64).reshape(-1)
      if len(scores) != len(boxes):
        raise ValueError(f"{len(scores)} scores for {len(boxes)} boxes")
    rolls = (np.zeros(len(boxes)) if rolls is None
             else np.asarray(rolls, np.float64).reshape(-1))
    if len(rolls) != len(boxes):
      raise ValueError(f"{len(rolls)} rolls for {len(boxes)} boxes")
    self._predict_all()
    first_round = self._rounds == 0
    self._rounds += 1

    matches, unmatched_tracks, unmatched_high = self._associate(boxes, scores)
    for ti, di in matches:
      self._correct(self._tracks[ti], boxes[di], None if scores is None else scores[di], di,
                    float(rolls[di]))
    for ti in unmatched_tracks:
      track = self._tracks[ti]
      track.hit_streak = 0
      track.misses += 1
    lost = frozenset(self._tracks[ti].id for ti in unmatched_tracks
                     if self._tracks[ti].confirmed)
    for di in self._unclaimed(boxes, unmatched_high):
      track = _TrackState(boxes[di], None if scores is None else float(scores[di]),
                          float(rolls[di]))
      track.detection_index = int(di)
      track.lost_at_birth = lost
      if self.min_hits <= 1 or (first_round and self.confirm_first_round):
        self._confirm(track)
      self._tracks.append(track)

    self._merge_duplicates()
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

  def _correct(self, track: _TrackState, box: np.ndarray, score: float | None,
               index: int, roll: float = 0.0) -> None:
    """Folds a matched detection into a track."""
    track.filter.correct(box)
    track.box = box.copy()
    track.observed = box.copy()
    track.score = None if score is None else float(score)
    track.roll = roll
    track.hits += 1
    track.hit_streak += 1
    track.misses = 0
    track.time_since_update = 0
    track.detection_index = int(index)
    if not track.confirmed and track.hit_streak >= self.min_hits:
      self._confirm(track)

  def _confirm(self, track: _TrackState) -> None:
    track.id = self._next_id
    self._next_id += 1

  def _match(self, track_indices: list[int], attribute: str, det_indices: list[int],
             boxes: np.ndarray, gate: float | np.ndarray | None = None
             ) -> tuple[list[tuple[int, int]], list[int], list[int]]:
    """Hungarian matching of tracks (by `attribute`: "box" or "observed").

    Maximises the summed affinity over admissible pairs (`match_affinity`);
    tracks and detections left without an admissible partner stay unmatched.
    """
    if not track_indices or not det_indices:
      return [], track_indices, det_indices
    track_boxes = np.array([getattr(self._tracks[i], attribute) for i in track_indices])
    if gate is None:
      gate = self.center_gate
    if attribute == "observed":  # A face comes back near where it was last seen.
      gate = np.maximum(gate, _SAME_FACE_DISTANCE)
    affinity, admissible = match_affinity(track_boxes, boxes[det_indices],
                                          self.iou_threshold, gate)
    cost = np.where(admissible, -affinity, _INADMISSIBLE)
    rows, cols = optimize.linear_sum_assignment(cost)
    pairs = [(r, c) for r, c in zip(rows, cols) if admissible[r, c]]
    matched_t = {r for r, _ in pairs}
    matched_d = {c for _, c in pairs}
    return ([(track_indices[r], det_indices[c]) for r, c in pairs],
            [t for i, t in enumerate(track_indices) if i not in matched_t],
            [d for i, d in enumerate(det_indices) if i not in matched_d])

  def _associate(self, boxes: np.ndarray, scores: np.ndarray | None
                 ) -> tuple[list[tuple[int, int]], list[int], list[int]]:
    """Matches detections to tracks, established tracks and sure detections first.

    High detections (score >= high_threshold, or all when scores is None):
      1. confirmed tracks, by their predicted boxes;
      2. confirmed tracks still unmatched, by their last detected boxes: a
         face that stayed put while hidden is found again even when its
         prediction drifted (partial occlusion skews the estimated velocity).
    Low detections (low_threshold <= score < high_threshold), a face turned
    away or looking down, for the confirmed tracks still unmatched:
      3. those matched in the last round, by their predicted boxes (a lost
         track's prediction drifts, and a stray low box may lie there);
      4. all of them, by their last detected boxes.
    Tentative tracks: 5. by their predicted boxes (as far away as the face
    may have moved since, `new_face_speed`; so are confirmed tracks seen once in
    1), high detections first, then low ones. A low detection may thus confirm a
    track a high one started, which a face that hovers around high_threshold
    needs.

    Returns:
      (track, detection) index pairs, the unmatched tracks and the unmatched
      high detections (the ones that start tracks).
    """
    if scores is None:
      high, low = list(range(len(boxes))), []
    else:
      high = [int(i) for i in np.flatnonzero(scores >= self.high_threshold)]
      low = [int(i) for i in np.flatnonzero((scores >= self.low_threshold)
                                            & (scores < self.high_threshold))]
    confirmed = [i for i, t in enumerate(self._tracks) if t.confirmed]
    tentative = [i for i, t in enumerate(self._tracks) if not t.confirmed]
    matches = []

    def new_face_gate(tracks):  # (n, 1): how far each face may have moved.
      seen_once = np.array([not self._tracks[i].confirmed or self._tracks[i].hits == 1
                            for i in tracks], bool)
      frames = np.array([self._tracks[i].time_since_update for i in tracks], np.float64)
      travel = np.where(seen_once, np.minimum(self.new_face_speed * frames,
                                              _NEW_FACE_TRAVEL), 0.0)
      return np.maximum(self.center_gate, travel).reshape(-1, 1)

    def match(tracks, attribute, dets, gate=None):
      pairs, tracks_left, dets_left = self._match(tracks, attribute, dets, boxes, gate)
      matches.extend(pairs)
      return tracks_left, dets_left

    confirmed, high = match(confirmed, "box", high, new_face_gate(confirmed))
    confirmed, high = match(confirmed, "observed", high)
    tracked = [i for i in confirmed if self._tracks[i].misses == 0]
    lost = [i for i in confirmed if self._tracks[i].misses > 0]
    tracked, low = match(tracked, "box", low)
    confirmed, low = match(tracked + lost, "observed", low)
    tentative, high = match(tentative, "box", high, new_face_gate(tentative))
    tentative, low = match(tentative, "box", low, new_face_gate(tentative))
    return matches, confirmed + tentative, high

  def _unclaimed(self, boxes: np.ndarray, det_indices: list[int]) -> list[int]:
    """The detections farther than `_SAME_FACE_DISTANCE` from every confirmed track.

    A second box on a face that a track already holds (the detector's boxes of
    a 12 px face that non-maximum suppression kept apart, or one that jitter
    pushed out of the gate) would start a second track that then steals that
    face's detections, round after round, from the first.
    """
    confirmed = [t.observed for t in self._tracks if t.confirmed]
    if not confirmed or not det_indices:
      return det_indices
    _, near = match_affinity(np.array(confirmed), boxes[det_indices], np.inf,
                             _SAME_FACE_DISTANCE)
    return [d for d, taken in zip(det_indices, near.any(0)) if not taken]

  def _merge_duplicates(self) -> None:
    """Gives a face that two confirmed tracks hold back to the older id.

    A track born while an older one was lost, whose last box comes within
    `_SAME_FACE_DISTANCE` of the older one's, is that face split off (by
    jitter, or a box that moved while the student looked down) when the two
    were not both matched in this round: the older track goes on with the
    more recent state and the younger goes. Two faces that pass each other
    were both seen before and are left alone.
    """
    confirmed = sorted((t for t in self._tracks if t.confirmed), key=lambda t: t.id)
    if len(confirmed) < 2:
      return
    observed = np.array([t.observed for t in confirmed])
    _, near = match_affinity(observed, observed, np.inf, _SAME_FACE_DISTANCE)
    merged = set()
    for j, young in enumerate(confirmed):
      for i, old in enumerate(confirmed[:j]):
        both_seen = old.time_since_update == young.time_since_update == 0
        if (near[i, j] and old.id in young.lost_at_birth and not both_seen
            and id(old) not in merged):
          if young.time_since_update < old.time_since_update:
            old.take_over(young)
          merged.add(id(young))
          break
    self._tracks = [t for t in self._tracks if id(t) not in merged]

  def _reported(self) -> list[Track]:
    return sorted((t.snapshot() for t in self._tracks
                   if t.confirmed and t.misses <= self.max_coast),
                  key=lambda t: t.id)
