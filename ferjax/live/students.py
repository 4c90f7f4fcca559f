"""Who is a student: tracks verified as faces, with one id per student for the whole lesson.

The tracker (`tracking.Tracker`) follows boxes for a few seconds; this registry
decides which tracks are students and which student each one is. Rules:

  * **Verified before counted.** Every reading of a track by the classifier
    gives P(face) (the model's face output). A track's evidence is the running
    mean of its readings (`evidence_weight` for the newest). A track becomes a
    student once its evidence reaches `face_threshold`; until then it has no
    id, is not reported, recorded or counted in the class mood, and is read
    again each time it is due. A bag, a hand or a poster is never verified.
    Once a student, a track stays one: a face that is briefly unreadable (a
    hand over it, turned away) keeps its id.
  * **Students sit still.** Each student's places are remembered: where
    their face was detected, up to `MAX_PLACES` spots (a seated face and a head
    bowed over the desk sit 1-2 face sizes apart), each with the time spent
    there. A verified track that appears at a place of a student who is not
    visibly elsewhere (its centre within `seat_distance` face sizes of that
    place or of the student's last box, sizes within a factor of 2) takes that
    student's id back, after seconds or minutes alike. Visibly elsewhere means
    held by a live track that the detector still finds; a track that only
    coasts on its prediction (the face moved faster than the tracker could
    follow) hands the id over and stops being that student (found again by the
    detector, it is a candidate like a new track: it takes the id back when the
    other track has lost the face, and is a second box while it has not). For
    such a student the new face may lie up to `HEAD_TRAVEL` face sizes above or
    below where the face was last detected and up to `SIDE_TRAVEL` to the side
    (a head coming up from the desk, or leaning over to the row behind, jumps that
    far between two detections; a neighbour sits further away). The nearest such
    seat wins. `seat_distance=0` turns seats off.
  * **Pictures are not students.** A printed face (a poster, a photo on a
    desk) is a face, but it never changes. A face is shown as a student only
    once the pixels where it was first detected have changed: an 8x8 grey
    thumbnail of that first box, brightness and contrast normalised, is kept
    and compared with the same spot at each new detection; a mean difference of
    `min_change` (0.2 of the thumbnail's contrast) means it moved. Measured on
    the pixels, not on the detected boxes, whose jitter depends on how a round
    was detected (whole frame, a window, its neighbours): in the generated
    lesson a poster's printed faces differ by at most 0.07 under camera noise
    and changing light, a seated student by 0.2 within about a second. The
    faces of the first detection are shown at once, and hidden after `still_s`
    until they change; their ids stay theirs (`pictures`: those that never
    do). A file's results are held back `still_s` and revised
    (`LivePipeline.stream`), so its pictures are never shown (a camera's
    records likewise, `pipeline.Hindsight`). A new face
    becomes a student only once it has changed. A face that takes a student's
    id back at their seat is shown at once when that student has moved before.
  * **No students from flickers or duplicates.** A track that takes no seat
    becomes a new student only after it has been tracked for `min_new_s`
    (the faces of the first detection excepted, so a session starts at once),
    and never while its centre lies within `seat_distance` face sizes of a
    student that is being tracked: a second box on a face already tracked.

Only positions, sizes and times are kept, and, in memory until a face is seen to
change, its 8x8 thumbnail: no face image is stored, no biometric template.
Models without a face output verify every track (the earlier behaviour).
"""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np

from ferjax.faces import geometry
from ferjax.live.tracking import Track

# Evidence P(face) from which a track is a face, for a model that does not store its own
# (`face_threshold` of the export's metadata, chosen on validation patches).
FACE_THRESHOLD = 0.5
MIN_NEW_S = 1.0        # A new student: tracked at least this long.
MIN_CHANGE = 0.2       # A face that moved: its first box's pixels changed this much ...
THUMBNAIL = 8          # ... compared as thumbnails this many pixels a side ...
CONTRAST_FLOOR = 4.0   # ... normalised by their contrast (grey levels), at least this.
STILL_S = 1.0          # Seconds a face of the first detection is shown before it must move.
SEAT_DISTANCE = 1.0    # In face sizes: the same seat.
EVIDENCE_WEIGHT = 0.5  # Weight of the newest reading in a track's running evidence.
MAX_PLACES = 4         # Places remembered per student ...
PLACE_RADIUS = 0.5     # ... each holding the boxes within this many face sizes of it.
PLACE_RATE = 0.05      # Weight of the newest box in a place's position.
HEAD_TRAVEL = 2.5      # Face sizes a head moves up or down when a student bows or looks up,
SIDE_TRAVEL = 1.75     # ... and to the side when leaning (a neighbour sits 2.5 or more away).


@dataclasses.dataclass(eq=False)
class _Candidate:
  """A live track: when it was first seen, its face evidence, its student."""
  first_seen_s: float
  box: np.ndarray
  evidence: float | None = None
  readings: int = 0
  student: int | None = None
  coasting: bool = False      # The detector no longer finds it: the tracker predicts it.
  released: bool = False      # Handed its student to another track while coasting.
  last_update_s: float = 0.0  # When its student's place was last noted.
  first_round: bool = False   # Found by the session's first detection.
  hits: int = -1              # The track's detections when last noted.
  region: np.ndarray | None = None     # Its first detected box ...
  reference: np.ndarray | None = None  # ... and that spot's thumbnail then.
  moved: bool = False         # That spot's pixels changed by `min_change` since.

  def detected_at(self, image: np.ndarray | None, box: np.ndarray, min_change: float
                  ) -> None:
    """Notes a detection in `image` (None: no pixels to compare, nothing learnt): the
    first one's spot is remembered, later ones compare it with what it held then."""
    if self.moved or image is None:
      return
    if self.region is None:
      self.region, self.reference = box.copy(), thumbnail(image, box)
      return
    if self.reference is None:  # The first box lay outside the frame.
      return
    now = thumbnail(image, self.region)
    if now is not None and float(np.mean(np.abs(now - self.reference))) >= min_change:
      self.moved, self.reference = True, None  # Judged: the thumbnail is let go.


def thumbnail(image: np.ndarray, box: np.ndarray) -> np.ndarray | None:
  """`box`'s part of `image` as a THUMBNAIL-square grey image of mean 0 and unit
  contrast (standard deviation, at least CONTRAST_FLOOR grey levels); None if the box
  holds no pixel of the image."""
  height, width = image.shape[:2]
  x0, y0 = max(0, int(round(box[0]))), max(0, int(round(box[1])))
  x1, y1 = min(width, int(round(box[2]))), min(height, int(round(box[3])))
  if x1 <= x0 or y1 <= y0:
    return None
  small = cv2.resize(image[y0:y1, x0:x1], (THUMBNAIL, THUMBNAIL),
                     interpolation=cv2.INTER_AREA).astype(np.float32)
  grey = small.mean(axis=2) if small.ndim == 3 else small
  grey -= grey.mean()
  return grey / max(float(grey.std()), CONTRAST_FLOOR)


@dataclasses.dataclass(eq=False)
class _Place:
  """A spot where a student's face was detected, and for how long."""
  box: np.ndarray
  seconds: float = 0.0


@dataclasses.dataclass(eq=False)
class _Seat:
  """A student's last box and the places their face was detected."""
  box: np.ndarray
  places: list[_Place] = dataclasses.field(default_factory=list)

  def boxes(self) -> np.ndarray:
    return np.array([self.box] + [p.box for p in self.places], np.float64)

  def visit(self, box: np.ndarray, seconds: float) -> None:
    """Adds `seconds` at `box`: to the place it lies in, else a new one (the least
    used is forgotten beyond MAX_PLACES)."""
    if self.places:
      near = _near(box, np.array([p.box for p in self.places]), PLACE_RADIUS)
      if near.any():
        place = self.places[int(np.flatnonzero(near)[0])]
        place.box = (1 - PLACE_RATE) * place.box + PLACE_RATE * box
        place.seconds += seconds
        return
    self.places.append(_Place(box.copy(), seconds))
    if len(self.places) > MAX_PLACES:
      del self.places[int(np.argmin([p.seconds for p in self.places]))]


def _within_head_travel(box: np.ndarray, other: np.ndarray) -> bool:
  """Whether `box` lies within HEAD_TRAVEL face sizes above or below `other`, at most
  SIDE_TRAVEL face sizes to the side, with a size within a factor of 2."""
  size_a, size_b = geometry.box_side(box), geometry.box_side(other)
  size = (size_a + size_b) / 2
  dx, dy = (box[:2] + box[2:]) / 2 - (other[:2] + other[2:]) / 2
  return bool(abs(dx) <= SIDE_TRAVEL * size and abs(dy) <= HEAD_TRAVEL * size
              and abs(np.log(size_b / size_a)) <= np.log(2.0))


def _near(box: np.ndarray, others: np.ndarray, distance: float) -> np.ndarray:
  """(n,) whether each of `others` lies within `distance` face sizes of `box`, with a size
  (sqrt of the area) within a factor of 2: a squashed head-down box still fits its seat,
  which `tracking.match_affinity`'s test of each side would refuse."""
  others = np.asarray(others, np.float64).reshape(-1, 4)
  size_a, size_b = geometry.box_side(box), geometry.box_side(others)
  centre_a = (box[:2] + box[2:]) / 2
  centres = (others[:, :2] + others[:, 2:]) / 2
  gap = np.linalg.norm(centres - centre_a, axis=1) / ((size_a + size_b) / 2)
  return (gap <= distance) & (np.abs(np.log(size_b / size_a)) <= np.log(2.0))


class Students:
  """Maps tracker tracks to students (see the module docstring)."""

  def __init__(self, face_threshold: float = FACE_THRESHOLD, min_new_s: float = MIN_NEW_S,
               seat_distance: float = SEAT_DISTANCE,
               evidence_weight: float = EVIDENCE_WEIGHT, min_change: float = MIN_CHANGE,
               still_s: float = STILL_S):
    if not 0 <= face_threshold <= 1:
      raise ValueError(f"face_threshold must be in [0, 1], got {face_threshold}")
    if not 0 < evidence_weight <= 1:
      raise ValueError(f"evidence_weight must be in (0, 1], got {evidence_weight}")
    if min_change < 0 or still_s < 0:
      raise ValueError(f"min_change and still_s must be >= 0, got {min_change}, {still_s}")
    self.face_threshold = face_threshold
    self.min_new_s = min_new_s
    self.seat_distance = seat_distance
    self.evidence_weight = evidence_weight
    self.min_change = min_change
    self.still_s = still_s
    self._candidates: dict[int, _Candidate] = {}
    self._seats: dict[int, _Seat] = {}
    self._next_id = 1
    self._moving: set[int] = set()  # Students whose face was seen moving.
    self._since: dict[int, float] = {}  # When each student's face was first seen.
    self._now_s = 0.0
    self._session_start_s: float | None = None
    self.rejected_tracks = 0      # Tracks that ended without being verified as a face.
    self.rejected_readings = 0    # Readings of tracks not (yet) verified, below threshold.
    self.seat_returns = 0         # Times a student's id was taken back at their seat.
    self._still_ended = 0         # Tracks verified as faces that ended without moving.

  @property
  def num_ids(self) -> int:
    """How many student ids were handed out."""
    return self._next_id - 1

  @property
  def still_tracks(self) -> int:
    """Tracks verified as faces but never shown as students, for they never moved
    (pictures); those of the first detection count once hidden."""
    live = sum(1 for c in self._candidates.values()
               if self._still_face(c) and not self._first_seconds(c))
    return self._still_ended + live

  @property
  def pictures(self) -> list[int]:
    """Student ids of faces shown at the start that have not moved in the `still_s`
    since, nor after (a poster's printed faces): left out of the session's students."""
    return [i for i, since in sorted(self._since.items())
            if i not in self._moving and self._now_s - since >= self.still_s]

  def still_boxes(self, seconds: float) -> np.ndarray:
    """Boxes of the live tracks that are faces but have not moved in the `seconds`
    since they were first seen (pictures), but for those on a student's seat (a
    second box on a student's face)."""
    students = np.array([c.box for c in self._candidates.values()
                         if c.student in self._moving], np.float64).reshape(-1, 4)
    boxes = [c.box for c in self._candidates.values()
             if self._still_face(c) and self._now_s - c.first_seen_s >= seconds
             and not _near(c.box, students, self.seat_distance).any()]
    return np.array(boxes, np.float64).reshape(-1, 4)

  def _verified(self, candidate: _Candidate) -> bool:
    return candidate.evidence is not None and candidate.evidence >= self.face_threshold

  def _still_face(self, candidate: _Candidate) -> bool:
    """A face (verified, or a student's) that has not moved, nor has its student."""
    return (not candidate.moved and not candidate.released
            and candidate.student not in self._moving
            and (candidate.student is not None or self._verified(candidate)))

  def _first_seconds(self, candidate: _Candidate) -> bool:
    """A face of the first detection, in the seconds it is shown before it must move."""
    return candidate.first_round and self._now_s - candidate.first_seen_s < self.still_s

  def student_of(self, track_id: int) -> int | None:
    """The student a live track shows (None: not a student, or a face not yet seen to
    move)."""
    candidate = self._candidates.get(track_id)
    if candidate is None or candidate.student is None:
      return None
    if candidate.student in self._moving or self._first_seconds(candidate):
      return candidate.student
    return None

  def readings(self, track_id: int) -> int:
    """How often a live track was read for P(face) before it became a student."""
    candidate = self._candidates.get(track_id)
    return 0 if candidate is None else candidate.readings

  def active_students(self) -> set[int]:
    return {c.student for c in self._candidates.values() if c.student is not None}

  def update_tracks(self, tracks: list[Track], timestamp_s: float, live_ids: set[int],
                    image: np.ndarray | None = None) -> None:
    """Notes the tracks of a frame; forgets the tracks the tracker no longer holds.

    `tracks` are the reported ones (boxes), `live_ids` every track id the
    tracker still holds (a lost student's track may be coasting unreported),
    `image` the frame, whose pixels tell a face that moves from a picture
    (without it no face is seen to move, unless `min_change` is 0).
    """
    self._now_s = timestamp_s
    if self._session_start_s is None and tracks:  # The first detection's faces, even
      self._session_start_s = timestamp_s          # when it comes late (a camera).
    for track in tracks:
      candidate = self._candidates.get(track.id)
      if candidate is None:
        candidate = self._candidates[track.id] = _Candidate(
            timestamp_s, track.box, last_update_s=timestamp_s,
            first_round=timestamp_s == self._session_start_s,
            moved=self.min_change == 0)
      candidate.box = np.asarray(track.box, np.float64)
      candidate.coasting = track.missed_rounds > 0
      if candidate.released and not candidate.coasting:
        candidate.released = False  # Found again: a candidate like any other.
      if track.hits == candidate.hits:
        continue
      # A new detection (fused now, maybe of an earlier frame): places are learnt from
      # detected boxes, not from the tracker's predictions.
      candidate.hits = track.hits
      detected = np.asarray(track.box if track.observed is None else track.observed,
                            np.float64)
      candidate.detected_at(image, detected, self.min_change)
      if candidate.student is not None:
        if candidate.moved:
          self._moving.add(candidate.student)
        self._seen(candidate.student, detected,
                   min(timestamp_s - candidate.last_update_s, 1.0))
        candidate.last_update_s = timestamp_s
    for track_id in [t for t in self._candidates if t not in live_ids]:
      gone = self._candidates.pop(track_id)
      if gone.student is None and not gone.released and not self._verified(gone):
        self.rejected_tracks += 1
      elif self._still_face(gone):
        self._still_ended += 1

  def observe(self, track_id: int, face_probability: float | None, timestamp_s: float
              ) -> int | None:
    """Adds a reading of P(face) (None: the model has no face output); returns the student."""
    candidate = self._candidates[track_id]
    if candidate.student is not None or candidate.released:
      return self.student_of(track_id)
    p = 1.0 if face_probability is None else float(face_probability)
    w = self.evidence_weight
    candidate.evidence = p if candidate.evidence is None else (1 - w) * candidate.evidence + w * p
    candidate.readings += 1
    if candidate.evidence < self.face_threshold:
      self.rejected_readings += 1
      return None
    candidate.student = self._assign(candidate, timestamp_s)
    if candidate.student is not None:
      self._seen(candidate.student, candidate.box, 0.0)
      if candidate.moved:
        self._moving.add(candidate.student)
    return self.student_of(track_id)

  def _seen(self, student: int, box: np.ndarray, seconds: float) -> None:
    """Student `student` was detected at `box`, for `seconds` since the last time."""
    seat = self._seats.get(student)
    if seat is None:
      seat = self._seats[student] = _Seat(box)
    seat.box = box
    seat.visit(box, seconds)

  def _assign(self, candidate: _Candidate, timestamp_s: float) -> int | None:
    """A lost student whose seat this is, a new student, or None (not yet)."""
    held = {c.student: c.box for c in self._candidates.values()
            if c.student is not None and not c.coasting}
    lost = [(sid, seat) for sid, seat in self._seats.items() if sid not in held]
    if lost:
      centre = (candidate.box[:2] + candidate.box[2:]) / 2
      best, best_gap = None, np.inf
      coasting = {c.student for c in self._candidates.values()
                  if c.student is not None and c.coasting}
      for sid, seat in lost:
        boxes = seat.boxes()
        near = _near(candidate.box, boxes, self.seat_distance)
        if (self.seat_distance > 0 and sid in coasting
            and _within_head_travel(candidate.box, boxes[0])):
          near[0] = True  # boxes[0]: where the face was last detected.
        if near.any():
          gap = np.min(np.linalg.norm((boxes[near, :2] + boxes[near, 2:]) / 2 - centre,
                                      axis=1))
          if gap < best_gap:
            best, best_gap = sid, gap
      if best is not None:
        for other in self._candidates.values():  # Its coasting track lets go of it.
          if other.student == best:
            other.student, other.released = None, True
        self.seat_returns += 1
        return best
    if held and _near(candidate.box, np.array(list(held.values())),
                      self.seat_distance).any():
      return None  # A second box on a face that is already a student.
    if not candidate.first_round and (timestamp_s - candidate.first_seen_s < self.min_new_s
                                      or not candidate.moved):
      return None
    student = self._next_id
    self._next_id += 1
    self._since[student] = candidate.first_seen_s
    return student
