"""A synthetic classroom video with known faces, ids, expressions and occlusions.

Real face crops (e.g. FER2013 test faces) are pasted into seats in rows on a
textured back wall, each with a body and a desk, and the truth of every frame is
known. Two renderings share one ground-truth schema:

* simple (`generate(...)`, the default): a grid of seats with faces of 30-90 px
  swaying inside their own cells, so they never overlap, and a faceless
  coat-coloured rectangle (the teacher) walking across the front row.
* realistic (`lesson(...)`, or `generate(..., realism=Realism())`): rows in
  perspective (back rows small and close together, faces 12-30 px at 640x480),
  heads with hair, students who write (head down: the face squashed vertically,
  its lower part in shadow), turn (squashed horizontally, the far side shaded),
  lean over the face behind them or raise an arm across it, rest the head in a
  hand that partly covers the face, a slow drift of gain and colour with brief
  flickers, and a teacher with a real face who walks through the front. The
  room holds distractors with known boxes (`Realism.distractors`, on by
  default): bags on desks and on empty chairs, papers and pencil cases on
  desks, hands, and a poster of printed FER2013 faces on the wall.
  `lecture_photo(...)` renders one still of the same room at 4000x2256 with 24
  people and faces of 60-140 px (no distractors).

    for frame_bgr, truth in lesson(faces, labels, num_students=30, num_frames=300):
      truth["students"]  # [{"id", "box", "visible", "occluded_fraction", ...}]

Ground truth per frame:
  {"frame": int, "time_s": float,
   "teacher_box": [x0, y0, x1, y1] | null (the teacher's body, clipped to the frame),
   "teacher": face dict (below) with "teacher": true | null (realistic only; null
              while off screen; id num_students + 1),
   "students": [{"id": int (1..N, seat order: back row first, left to right),
                 "box": [x0, y0, x1, y1] (ints, x1/y1 exclusive: the face as drawn,
                        squashed by its pose, clipped to the frame),
                 "visible": bool (occluded_fraction < occlusion_threshold),
                 "occluded_fraction": float (share of the box hidden: by the teacher
                        in the simple rendering; by anything drawn over it or
                        outside the frame in the realistic one),
                 "size": int (face side in px before any squash: max(w, h) of the
                        unclipped box),
                 "pose": "frontal" | "down" (writing) | "turned",
                 "label": int (index into EMOTIONS), "emotion": str}],
   "distractors": [{"id": int (unique in the lesson, never a person's),
                    "kind": "bag" | "hand" | "paper" | "pencil_case" | "printed_face",
                    "box": [x0, y0, x1, y1] (as drawn, clipped to the frame),
                    "visible": bool, "occluded_fraction": float (share of its drawn
                           pixels hidden by whatever is drawn over it)}]
                  (empty in the simple rendering and without distractors; hands
                  only in the frames they are drawn in)}

The teacher is ground truth of its own (not a student) because a detector that
finds the teacher's face is right, not a false positive; scorers decide whether
to count it (`ferjax.synthetic.scoring` does by default). Printed faces are faces
but nobody's: a track on one is a false track (the scorer's rule). A hand over a
face does not remove the face from the truth: it raises its occluded_fraction.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
import dataclasses
import math
import os

import cv2
import numpy as np

from ferjax import files
from ferjax.labels import EMOTIONS


@dataclasses.dataclass(frozen=True)
class Seat:
  """Where one student sits: a cell no other student enters."""
  cell: tuple[int, int, int, int]  # x0, y0, x1, y1
  face_size: int
  centre: tuple[float, float]  # Face centre at rest.
  sway: tuple[float, float]  # Amplitude (px) in x and y.
  period_s: tuple[float, float]
  phase: tuple[float, float]
  row: int = 0  # 0: the back row.


def _row_counts(num_students: int, width: int, height: int) -> list[int]:
  rows = max(1, round(math.sqrt(num_students * height / width)))
  cols = math.ceil(num_students / rows)
  counts = [cols] * rows
  for i in range(rows * cols - num_students):  # Thin out the back rows.
    counts[i % rows] -= 1
  return [c for c in counts if c > 0]


def layout(num_students: int, width: int, height: int, face_size: tuple[int, int],
           rng: np.random.Generator) -> list[Seat]:
  """Seats in rows (back rows smaller), left to right, back row first."""
  if num_students < 1:
    raise ValueError(f"need at least one student, got {num_students}")
  counts = _row_counts(num_students, width, height)
  cols = max(counts)
  top, bottom = int(0.08 * height), height
  # Row heights grow towards the front (perspective).
  weights = np.linspace(1.0, 1.5, len(counts)) if len(counts) > 1 else np.ones(1)
  edges = top + np.concatenate([[0], np.cumsum(weights)]) / weights.sum() * (bottom - top)
  cell_w = width / cols
  seats = []
  for row, count in enumerate(counts):
    y0, y1 = int(edges[row]), int(edges[row + 1])
    cell_h = y1 - y0
    size = int(min(face_size[1], 0.5 * cell_h, 0.6 * cell_w))
    if size < face_size[0]:
      raise ValueError(f"{num_students} students do not fit {width}x{height} with "
                       f"faces of at least {face_size[0]} px")
    offset = (cols - count) * cell_w / 2  # Centre a short row.
    for col in range(count):
      x0 = int(offset + col * cell_w)
      x1 = int(offset + (col + 1) * cell_w)
      sway_x = min(0.12 * size, (x1 - x0 - size) / 2 - 2)
      sway_y = min(0.05 * size, 3.0)
      centre = ((x0 + x1) / 2, y0 + sway_y + 2 + size / 2 + 0.05 * cell_h)
      seats.append(Seat(cell=(x0, y0, x1, y1), face_size=size, centre=centre,
                        sway=(max(sway_x, 0.0), sway_y),
                        period_s=tuple(rng.uniform(3.0, 8.0, 2)),
                        phase=tuple(rng.uniform(0, 2 * np.pi, 2))))
  return seats


def _background(width: int, height: int, rng: np.random.Generator) -> np.ndarray:
  """A back wall: vertical gradient, blotchy texture, a few posters."""
  ys = np.linspace(0, 1, height, dtype=np.float32)[:, None, None]
  wall = np.array([178, 190, 200], np.float32) * (1.05 - 0.35 * ys)  # BGR beige.
  texture = cv2.resize(rng.normal(0, 12, (height // 40 + 2, width // 40 + 2)).astype(np.float32),
                       (width, height), interpolation=cv2.INTER_CUBIC)
  image = np.broadcast_to(wall, (height, width, 3)) + texture[..., None]
  image += rng.normal(0, 3, image.shape).astype(np.float32)
  image = np.clip(image, 0, 255).astype(np.uint8)
  for _ in range(3):
    w, h = int(rng.uniform(0.06, 0.15) * width), int(rng.uniform(0.03, 0.06) * height)
    x, y = int(rng.uniform(0, width - w)), int(rng.uniform(0, 0.06 * height))
    cv2.rectangle(image, (x, y), (x + w, y + h), tuple(int(c) for c in rng.integers(60, 220, 3)),
                  -1)
  return image


def _face_patch(face: np.ndarray, size: int, feather: float) -> tuple[np.ndarray, np.ndarray]:
  """Upscaled BGR face and an alpha mask fading its outer `feather` share."""
  gray = cv2.resize(np.asarray(face, np.uint8).reshape(face.shape[0], face.shape[1]),
                    (size, size), interpolation=cv2.INTER_CUBIC)
  bgr = cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR).astype(np.float32)
  if feather <= 0:
    return bgr, np.ones((size, size, 1), np.float32)
  grid = np.abs((np.arange(size, dtype=np.float32) + 0.5) / size * 2 - 1)
  edge = np.maximum(grid[None, :], grid[:, None])  # 0 at the centre, 1 at the border.
  return bgr, np.clip((1.0 - edge) / feather, 0, 1)[..., None]


def _paste(image: np.ndarray, patch: np.ndarray, alpha: np.ndarray, x0: int, y0: int) -> None:
  h, w = patch.shape[:2]
  region = image[y0:y0 + h, x0:x0 + w].astype(np.float32)
  image[y0:y0 + h, x0:x0 + w] = (alpha * patch + (1 - alpha) * region).astype(np.uint8)


def _overlap_fraction(box: tuple[int, int, int, int],
                      other: tuple[int, int, int, int] | None) -> float:
  if other is None:
    return 0.0
  w = max(0, min(box[2], other[2]) - max(box[0], other[0]))
  h = max(0, min(box[3], other[3]) - max(box[1], other[1]))
  return w * h / ((box[2] - box[0]) * (box[3] - box[1]))


def _teacher_left(frame: int, start: int, speed: float, width: int,
                  teacher_width: int) -> int | None:
  """The teacher's left edge (may lie outside the frame): walks right, then back."""
  if frame < start:
    return None
  travel = width + teacher_width
  pass_frames = max(1, math.ceil(travel / speed))
  step = (frame - start) % (2 * pass_frames)
  distance = min((step if step < pass_frames else 2 * pass_frames - step) * speed, travel)
  return int(round(-teacher_width + distance))


def _teacher_box(frame: int, start: int, speed: float, width: int, top: int, height: int,
                 teacher_width: int) -> tuple[int, int, int, int] | None:
  """Walks left to right, then back, from frame `start` on."""
  x0 = _teacher_left(frame, start, speed, width, teacher_width)
  if x0 is None:
    return None
  x0c, x1c = max(x0, 0), min(x0 + teacher_width, width)
  if x1c <= x0c:
    return None
  return (x0c, top, x1c, height)


def _check_faces(faces: np.ndarray, labels: Iterable[int]) -> tuple[np.ndarray, np.ndarray]:
  faces = np.asarray(faces)
  if faces.ndim == 4:
    faces = faces[..., 0]
  labels = np.asarray(list(labels), np.int64)
  if faces.ndim != 3 or len(faces) != len(labels) or not len(faces):
    raise ValueError(f"need (n, h, w) faces with n labels, got {faces.shape} and "
                     f"{labels.shape}")
  return faces, labels


class _Renderer:
  """What both renderings set up alike: seats, wall, each student's faces, shirts, teacher."""

  def _set_up(self, faces: np.ndarray, labels: np.ndarray, num_students: int,
              num_frames: int, rng: np.random.Generator, seat_layout, *, width: int,
              height: int, fps: float, face_size: tuple[int, int], teacher: bool,
              teacher_start: int | None, teacher_speed: float, occlusion_threshold: float,
              label_change_every: int | None, class_names: tuple[str, ...],
              extra_faces: int = 0) -> np.ndarray:
    """Draws (in this order) seats, wall, faces and shirts; returns `extra_faces` more faces."""
    self.faces, self.labels = faces, labels
    self.width, self.height, self.fps = width, height, fps
    self.occlusion_threshold, self.class_names = occlusion_threshold, class_names
    self.label_change_every = label_change_every
    self.seats = seat_layout(num_students, width, height, face_size, rng)
    self.background = _background(width, height, rng)
    each = 1 if not label_change_every else math.ceil(num_frames / label_change_every)
    draws = num_students * each + extra_faces
    chosen = rng.choice(len(faces), draws, replace=draws > len(faces))
    self.chosen = chosen[:num_students * each].reshape(num_students, each)
    self.shirts = [tuple(int(c) for c in rng.integers(30, 200, 3)) for _ in self.seats]
    self.teacher = teacher
    self.teacher_width = int(0.12 * width)
    self.teacher_start = num_frames // 4 if teacher_start is None else teacher_start
    self.teacher_speed = teacher_speed
    return chosen[num_students * each:]


class _Simple(_Renderer):
  """The simple rendering of `generate`: set up once, then one frame at a time."""

  def __init__(self, faces: np.ndarray, labels: np.ndarray, num_students: int,
               num_frames: int, seed: int, *, feather: float, **common):
    self.feather = feather
    self._set_up(faces, labels, num_students, num_frames, np.random.default_rng(seed),
                 layout, **common)
    self.patches: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}
    seats = self.seats
    front_row_top = min(s.cell[1] for s in seats if s.cell[1] == max(t.cell[1] for t in seats))
    front_faces_top = min(int(s.centre[1] - s.face_size / 2 - s.sway[1]) for s in seats
                          if s.cell[1] == front_row_top)
    self.teacher_top = max(front_faces_top - 4, 0)

  def _student(self, image: np.ndarray, i: int, t: float, change: int
               ) -> tuple[int, int, int, int]:
    """Draws student i (body, face, desk) at time `t`; returns the face box."""
    seat = self.seats[i]
    cx = seat.centre[0] + seat.sway[0] * math.sin(2 * math.pi * t / seat.period_s[0]
                                                    + seat.phase[0])
    cy = seat.centre[1] + seat.sway[1] * math.sin(2 * math.pi * t / seat.period_s[1]
                                                    + seat.phase[1])
    x0, y0 = int(round(cx - seat.face_size / 2)), int(round(cy - seat.face_size / 2))
    # Body: shoulders below the face, inside the seat's cell.
    cell = seat.cell
    body_w = int(min(0.8 * seat.face_size, (cell[2] - cell[0]) / 2 - seat.sway[0] - 2))
    body_top = y0 + seat.face_size + 2
    cv2.ellipse(image, (int(cx), body_top + body_w // 2), (body_w, body_w // 2 + 4), 0,
                180, 360, self.shirts[i], -1)
    cv2.rectangle(image, (int(cx) - body_w, body_top + body_w // 2),
                  (int(cx) + body_w, cell[3] - 1), self.shirts[i], -1)
    key = (i, change)
    if key not in self.patches:
      self.patches[key] = _face_patch(self.faces[self.chosen[i, change]], seat.face_size,
                                      self.feather)
    _paste(image, *self.patches[key], x0, y0)
    # Desk: the lower part of the cell.
    desk_top = max(body_top + body_w // 2 + 4, cell[3] - int(0.22 * (cell[3] - cell[1])))
    cv2.rectangle(image, (cell[0] + 2, desk_top), (cell[2] - 3, cell[3] - 1), _DESK_BGR, -1)
    cv2.rectangle(image, (cell[0] + 2, desk_top), (cell[2] - 3, cell[3] - 1), _DESK_EDGE_BGR,
                  1)
    return (x0, y0, x0 + seat.face_size, y0 + seat.face_size)

  def _teacher(self, image: np.ndarray, frame: int) -> tuple[int, int, int, int] | None:
    """Draws the teacher (a faceless coat); returns its box, None when off screen."""
    if not self.teacher:
      return None
    box = _teacher_box(frame, self.teacher_start, self.teacher_speed, self.width,
                       self.teacher_top, self.height, self.teacher_width)
    if box is not None:
      cv2.rectangle(image, box[:2], (box[2] - 1, box[3] - 1), _TEACHER_BGR, -1)
    return box

  def _truth(self, i: int, box: tuple[int, int, int, int],
             teacher_box: tuple[int, int, int, int] | None, change: int) -> dict:
    """The ground truth of student i's face, hidden only by the teacher."""
    occluded = _overlap_fraction(box, teacher_box)
    label = int(self.labels[self.chosen[i, change]])
    return {"id": i + 1, "box": list(box),
            "visible": bool(occluded < self.occlusion_threshold),
            "occluded_fraction": round(occluded, 4),
            "size": box[2] - box[0], "pose": "frontal", "label": label,
            "emotion": self.class_names[label]}

  def frame(self, index: int) -> tuple[np.ndarray, dict]:
    """Frame `index` (BGR) and its ground truth."""
    t = index / self.fps
    image = self.background.copy()
    change = index // self.label_change_every if self.label_change_every else 0
    boxes = [self._student(image, i, t, change) for i in range(len(self.seats))]
    teacher_box = self._teacher(image, index)
    students = [self._truth(i, box, teacher_box, change) for i, box in enumerate(boxes)]
    return image, {"frame": index, "time_s": round(t, 6),
                   "teacher_box": list(teacher_box) if teacher_box else None,
                   "students": students, "distractors": []}


def generate(faces: np.ndarray, labels: Iterable[int], num_students: int = 15,
             num_frames: int = 150, seed: int = 0, *, width: int = 640, height: int = 480,
             fps: float = 15.0, face_size: tuple[int, int] = (30, 90),
             teacher: bool = True, teacher_start: int | None = None,
             teacher_speed: float = 8.0, occlusion_threshold: float = 0.5,
             label_change_every: int | None = None, feather: float = 0.0,
             class_names: tuple[str, ...] = EMOTIONS, realism: Realism | None = None
             ) -> Iterator[tuple[np.ndarray, dict]]:
  """Yields (frame_bgr uint8 (height, width, 3), ground truth dict) per frame.

  Args:
    faces: (n, h, w) or (n, h, w, 1) uint8 grey face crops (e.g. FER2013 48x48).
    labels: (n,) class index of each face.
    num_students: students in the room.
    num_frames: frames to generate.
    seed: everything random (faces drawn, layout, motion, texture) follows it.
    width, height: frame size.
    fps: frame rate the motion is timed for.
    face_size: (min, max) face side in pixels.
    teacher: whether a teacher walks across the front row.
    teacher_start: first frame of the walk (default: a quarter in).
    teacher_speed: pixels per frame.
    occlusion_threshold: a face is not visible when at least this share of
      its box is under the teacher.
    label_change_every: if set, every student gets a new face (and label)
      every this many frames; else each keeps one face throughout.
    feather: (simple rendering) share of the face's half-width over which its edges fade into
      the wall (0: hard edges; detectors find FER crops best that way).
    class_names: names for the labels.
    realism: None for the simple rendering; else the realistic one with these
      events and lighting (see `Realism`, `lesson`).
  """
  faces, labels = _check_faces(faces, labels)
  common = {"width": width, "height": height, "fps": fps, "face_size": face_size,
            "teacher": teacher, "teacher_start": teacher_start,
            "teacher_speed": teacher_speed, "occlusion_threshold": occlusion_threshold,
            "label_change_every": label_change_every, "class_names": class_names}
  if realism is None:
    renderer = _Simple(faces, labels, num_students, num_frames, seed, feather=feather,
                       **common)
  else:  # Faces keep hard edges there: hair hides the seams.
    renderer = _Lesson(faces, labels, num_students, num_frames, seed, realism=realism,
                       **common)
  for index in range(num_frames):
    yield renderer.frame(index)


# The realistic rendering.

POSES = ("frontal", "down", "turned")
_FRONTAL, _DOWN, _TURNED, _LEAN, _ARM = range(5)
_SKIN = ((0.80, 0.90, 1.10), (0.90, 0.95, 1.04), (0.70, 0.82, 1.05), (0.95, 1.0, 1.0),
         (0.62, 0.74, 0.92))  # BGR tints of the grey faces.
_HAIR = ((20, 22, 28), (30, 45, 70), (60, 90, 130), (15, 15, 15), (90, 130, 170))
_TEACHER_BGR = (70, 50, 45)
_DESK_BGR, _DESK_EDGE_BGR = (60, 95, 140), (40, 65, 100)


@dataclasses.dataclass(frozen=True)
class Realism:
  """What makes a realistic lesson hard: events per student and lighting.

  Each student's time line alternates quiet spells with events (writing,
  turning, leaning, raising an arm) of `event_s` seconds; the shares are the
  expected fractions of time in each. Lighting: a global gain drifting by
  +-`gain_drift` and per-channel colour by +-`colour_drift` over tens of
  seconds, and a flicker (`flicker_gain` for 2-4 frames) every `flicker_every_s`
  seconds on average (0: none).

  Distractors (`distractors`): bags on desks and on empty chairs, papers and
  pencil cases on desks, a poster of printed FER2013 faces on the wall, raised
  hands drawn with fingers, and heads resting in a hand (about `rest_share` of
  each student's time, in the quiet spells between events) that partly cover
  the face. They have a random stream of their own, so switching them off
  leaves the rest of the lesson as it was.

  Camera noise (`sensor_noise`): Gaussian, this many grey levels per pixel and
  frame, drawn from a stream of each frame's own: a still picture's boxes
  jitter as they would on a camera.
  """
  down_share: float = 0.10
  turned_share: float = 0.08
  lean_share: float = 0.03
  arm_share: float = 0.03
  event_s: tuple[float, float] = (2.0, 5.0)
  down_squash: float = 0.7       # face height while writing (~45 deg), share of its side
  turned_squash: float = 0.7     # face width while turned
  gain_drift: float = 0.12
  colour_drift: float = 0.05
  flicker_every_s: float = 8.0
  flicker_gain: float = 0.65
  distractors: bool = True
  rest_share: float = 0.06       # head resting in a hand (with distractors only)
  sensor_noise: float = 3.0      # grey levels (standard deviation)


STILL = Realism(down_share=0.0, turned_share=0.0, lean_share=0.0, arm_share=0.0,
                gain_drift=0.0, colour_drift=0.0, flicker_every_s=0.0, distractors=False,
                sensor_noise=0.0)


def perspective_layout(num_students: int, width: int, height: int,
                       face_size: tuple[int, int], rng: np.random.Generator) -> list[Seat]:
  """Rows in perspective: face sides from face_size[0] (back) to [1] (front).

  Rows lie between 30% and 74% of the height, closer together at the back;
  columns converge towards the back. Seats are listed back row first, left to
  right; a seat's `cell` is its share of the row (x) and the row's band (y).
  """
  if num_students < 1:
    raise ValueError(f"need at least one student, got {num_students}")
  num_rows = max(1, round(math.sqrt(num_students / 1.25)))
  cols = math.ceil(num_students / num_rows)
  counts = [cols] * num_rows
  for i in range(num_rows * cols - num_students):  # Thin out the back rows.
    counts[i % num_rows] -= 1
  depth = np.linspace(0.0, 1.0, len(counts)) if len(counts) > 1 else np.ones(1)
  sizes = np.round(face_size[0] + depth * (face_size[1] - face_size[0])).astype(int)
  gaps = (sizes[:-1] + sizes[1:]) / 2.0
  ys = np.concatenate([[0.0], np.cumsum(gaps)])
  ys = 0.30 * height + (ys / ys[-1] if len(ys) > 1 else ys) * 0.44 * height
  seats = []
  for row, count in enumerate(counts):
    size, pitch = int(sizes[row]), (0.62 + 0.32 * depth[row]) * width / cols
    if pitch < 1.8 * size or size < 4:
      raise ValueError(f"{num_students} students do not fit {width}x{height} with "
                       f"faces of {face_size[0]}-{face_size[1]} px")
    band = (int(ys[row] - 0.9 * size), int(ys[row] + 1.9 * size))
    for col in range(count):
      cx = width / 2 + (col - (count - 1) / 2) * pitch + rng.uniform(-0.08, 0.08) * pitch
      cy = ys[row] + rng.uniform(-0.06, 0.06) * size
      seats.append(Seat(cell=(int(cx - pitch / 2), band[0], int(cx + pitch / 2), band[1]),
                        face_size=size, centre=(float(cx), float(cy)),
                        sway=(0.10 * size, 0.04 * size),
                        period_s=tuple(rng.uniform(3.0, 8.0, 2)),
                        phase=tuple(rng.uniform(0, 2 * np.pi, 2)), row=row))
  return seats


def _events(num_frames: int, fps: float, realism: Realism, rng: np.random.Generator,
            can_lean: bool) -> list[tuple[int, int, int, int]]:
  """One student's events: (first frame, end frame, kind, direction +-1)."""
  shares = np.array([realism.down_share, realism.turned_share,
                     realism.lean_share if can_lean else 0.0, realism.arm_share])
  total = shares.sum()
  if total <= 0:
    return []
  mean_s = sum(realism.event_s) / 2
  mean_gap_s = mean_s * max(1.0 - total, 0.05) / total
  events = []
  t = rng.uniform(0, mean_gap_s)
  while t * fps < num_frames:
    kind = (_DOWN, _TURNED, _LEAN, _ARM)[rng.choice(4, p=shares / total)]
    duration = rng.uniform(*realism.event_s)
    direction = int(rng.choice((-1, 1)))
    events.append((int(t * fps), int((t + duration) * fps), kind, direction))
    t += duration + rng.exponential(mean_gap_s)
  return events


def _envelope(frame: int, start: int, end: int, ramp: float) -> float:
  """0 outside [start, end), rising to 1 over `ramp` frames at both ends."""
  if not start <= frame < end:
    return 0.0
  return float(min(1.0, (frame - start + 1) / ramp, (end - frame) / ramp))


def _lighting(num_frames: int, fps: float, realism: Realism,
              rng: np.random.Generator) -> np.ndarray:
  """(num_frames, 3) BGR gains: slow drifts times brief flickers."""
  t = np.arange(num_frames) / fps
  gain = 1 + realism.gain_drift * np.sin(2 * np.pi * t / rng.uniform(20, 40)
                                          + rng.uniform(0, 2 * np.pi))
  colour = np.stack([1 + realism.colour_drift * np.sin(2 * np.pi * t / rng.uniform(15, 45)
                                                       + rng.uniform(0, 2 * np.pi))
                     for _ in range(3)], axis=1)
  gains = gain[:, None] * colour
  if realism.flicker_every_s > 0:
    start = rng.exponential(realism.flicker_every_s)
    while start * fps < num_frames:
      first = int(start * fps)
      gains[first:first + int(rng.integers(2, 5))] *= realism.flicker_gain
      start += rng.exponential(realism.flicker_every_s)
  return gains


def _pose_patch(face: np.ndarray, size: int, kind: int, amount: float, direction: int,
                tint: tuple[float, float, float], realism: Realism
                ) -> tuple[np.ndarray, tuple[int, int, int]]:
  """(BGR float32 face, (width, height, x offset in the head's square))."""
  w, h, dx = size, size, 0
  if kind == _DOWN:
    h = max(2, round(size * (1 - amount * (1 - realism.down_squash))))
  elif kind == _TURNED:
    w = max(2, round(size * (1 - amount * (1 - realism.turned_squash))))
    dx = size - w if direction > 0 else 0
  face = np.asarray(face, np.uint8).reshape(face.shape[0], face.shape[1])
  small = w < face.shape[1] and h < face.shape[0]
  gray = cv2.resize(face, (w, h), interpolation=cv2.INTER_AREA if small
                    else cv2.INTER_CUBIC).astype(np.float32)
  if kind == _DOWN:  # The lower face in the shadow of the bowed head.
    gray *= np.clip(1.35 - 0.9 * np.linspace(0, 1, h, dtype=np.float32),
                    0.45, 1.0)[:, None] ** amount
  elif kind == _TURNED:  # The far side in shade.
    ramp = np.linspace(0, 1, w, dtype=np.float32)
    gray *= np.clip(0.55 + 0.6 * (ramp if direction > 0 else ramp[::-1]), 0, 1)[None, :] ** amount
  return gray[..., None] * np.asarray(tint, np.float32), (w, h, dx)


def _clip_box(box: tuple[int, int, int, int], width: int, height: int
              ) -> tuple[int, int, int, int]:
  return (max(box[0], 0), max(box[1], 0), min(box[2], width), min(box[3], height))


def _paste_face(image: np.ndarray, ids: np.ndarray, patch: np.ndarray,
                box: tuple[int, int, int, int], owner: int) -> None:
  """Pastes the patch where `box` lies in the frame and marks it as `owner`'s."""
  x0, y0, x1, y1 = _clip_box(box, image.shape[1], image.shape[0])
  if x1 <= x0 or y1 <= y0:
    return
  image[y0:y1, x0:x1] = np.clip(patch[y0 - box[1]:y1 - box[1], x0 - box[0]:x1 - box[0]],
                                0, 255).astype(np.uint8)
  ids[y0:y1, x0:x1] = owner


def _ellipse(image: np.ndarray, ids: np.ndarray, centre, axes, color,
             start: int = 0, end: int = 360) -> None:
  centre = (int(round(centre[0])), int(round(centre[1])))
  axes = (max(1, int(round(axes[0]))), max(1, int(round(axes[1]))))
  cv2.ellipse(image, centre, axes, 0, start, end, color, -1)
  cv2.ellipse(ids, centre, axes, 0, start, end, 0, -1)


def _rectangle(image: np.ndarray, ids: np.ndarray, p0, p1, color) -> None:
  p0, p1 = (int(p0[0]), int(p0[1])), (int(p1[0]), int(p1[1]))
  cv2.rectangle(image, p0, p1, color, -1)
  cv2.rectangle(ids, p0, p1, 0, -1)


def _skin(tint: tuple[float, float, float]) -> tuple[int, int, int]:
  return tuple(int(min(255, 150 * c)) for c in tint)


def _person(image: np.ndarray, ids: np.ndarray, centre: tuple[float, float], size: int,
            body_bottom: float, shirt, hair, skin) -> None:
  """Shoulders and trunk down to `body_bottom`, and hair behind the face."""
  cx, cy = centre
  shoulders = cy + 1.05 * size
  _ellipse(image, ids, (cx, shoulders), (0.9 * size, 0.45 * size), shirt, 180, 360)
  _rectangle(image, ids, (cx - 0.9 * size, shoulders), (cx + 0.9 * size, body_bottom), shirt)
  _ellipse(image, ids, (cx, cy + 0.65 * size), (0.22 * size, 0.45 * size),
           tuple(0.8 * c for c in skin))
  _ellipse(image, ids, (cx, cy - 0.1 * size), (0.62 * size, 0.68 * size), hair)


def _face_truth(owner: int, box: tuple[int, int, int, int], ids: np.ndarray, pose: str,
                label: int, class_names: tuple[str, ...], occlusion_threshold: float
                ) -> dict:
  """The ground truth of one drawn face, its hidden share read from the id map."""
  h, w = ids.shape
  clipped = _clip_box(box, w, h)
  area = (box[2] - box[0]) * (box[3] - box[1])
  shown = int(np.count_nonzero(ids[clipped[1]:clipped[3], clipped[0]:clipped[2]] == owner))
  occluded = 1.0 - shown / area
  return {"id": owner, "box": list(clipped), "visible": bool(occluded < occlusion_threshold),
          "occluded_fraction": round(occluded, 4),
          "size": int(max(box[2] - box[0], box[3] - box[1])), "pose": pose,
          "label": int(label), "emotion": class_names[int(label)]}


@dataclasses.dataclass(frozen=True)
class _State:
  """One student in one frame: where the head is and what they are doing."""
  centre: tuple[float, float]
  kind: int        # _FRONTAL, _DOWN, _TURNED, _LEAN or _ARM
  amount: float    # 0..1: how far into the event
  direction: int   # +-1: turning or reaching to the right (+1) or left


# Distractors: what a room holds besides the students' faces.

DISTRACTOR_KINDS = ("bag", "hand", "paper", "pencil_case", "printed_face")
_BAG_BGR = ((95, 55, 35), (38, 38, 42), (45, 45, 160), (60, 115, 65), (125, 125, 120),
            (115, 60, 105), (95, 145, 170), (30, 100, 185), (150, 110, 40))
_CASE_BGR = ((40, 40, 200), (200, 120, 40), (60, 180, 230), (150, 60, 160), (70, 160, 80),
             (50, 50, 55), (210, 200, 190))
_PAPER_BGR = ((242, 244, 245), (214, 238, 248), (248, 230, 222), (160, 235, 250))
_CHAIR_BGR = ((55, 55, 60), (60, 90, 135), (120, 85, 50), (150, 110, 60))
_POSTER_BGR = ((200, 225, 235), (225, 215, 190), (205, 235, 210), (235, 235, 240))
_POSTER_FRAME_BGR = ((30, 30, 30), (45, 75, 110), (170, 170, 175))
_PRINT_TINTS = ((0.85, 0.95, 1.10), (1.08, 0.97, 0.85), (1.0, 1.0, 1.0), (0.92, 1.05, 0.95))
_REST_POSES = ("chin", "cheek", "mouth")  # Where the hand holds the head.


class _Canvas:
  """Where props are drawn: colours, the owner of each pixel (0: furniture, bodies)
  and, for layers drawn once, a mask of what was drawn."""

  def __init__(self, image: np.ndarray, owners: np.ndarray, drawn: np.ndarray | None = None):
    self.image, self.owners, self.drawn = image, owners, drawn

  @classmethod
  def blank(cls, width: int, height: int) -> _Canvas:
    return cls(np.zeros((height, width, 3), np.uint8), np.zeros((height, width), np.uint16),
               np.zeros((height, width), np.uint8))

  def draw(self, paint, colour, owner: int) -> None:
    """`paint(target, value)` draws one shape into the colours, owners and mask."""
    paint(self.image, tuple(int(min(max(c, 0), 255)) for c in colour))
    paint(self.owners, int(owner))
    if self.drawn is not None:
      paint(self.drawn, 1)


def _pt(p) -> tuple[int, int]:
  return int(round(p[0])), int(round(p[1]))


def _ellipse_shape(centre, axes, angle: float = 0.0, start: int = 0, end: int = 360,
                   thickness: int = -1):
  c, a = _pt(centre), (max(1, int(round(axes[0]))), max(1, int(round(axes[1]))))
  return lambda target, value: cv2.ellipse(target, c, a, angle, start, end, value, thickness)


def _line_shape(p0, p1, thickness: float):
  a, b, t = _pt(p0), _pt(p1), max(1, int(round(thickness)))
  return lambda target, value: cv2.line(target, a, b, value, t)


def _polygon_shape(points):
  points = np.round(np.asarray(points, np.float32)).astype(np.int32)
  return lambda target, value: cv2.fillConvexPoly(target, points, value)


def _box_shape(x0: float, y0: float, x1: float, y1: float, radius: float = 0.0):
  """A filled rectangle (x1, y1 inclusive) with rounded corners."""
  x0, y0, x1, y1 = (int(round(v)) for v in (x0, y0, x1, y1))
  r = max(0, min(int(round(radius)), (x1 - x0) // 2, (y1 - y0) // 2))

  def paint(target, value):
    cv2.rectangle(target, (x0 + r, y0), (x1 - r, y1), value, -1)
    cv2.rectangle(target, (x0, y0 + r), (x1, y1 - r), value, -1)
    if r:
      for corner in ((x0 + r, y0 + r), (x1 - r, y0 + r), (x0 + r, y1 - r), (x1 - r, y1 - r)):
        cv2.circle(target, corner, r, value, -1)
  return paint


def _scaled(colour, factor: float, lift: float = 0.0) -> tuple[int, int, int]:
  return tuple(int(np.clip(factor * c + lift, 0, 255)) for c in colour)


def _texture(canvas: _Canvas, owner: int, box, rng: np.random.Generator, grain: float,
             shade: float) -> None:
  """Grain (relative noise) and light from above (the bottom darker by `shade`)
  over `owner`'s pixels inside `box`."""
  h, w = canvas.owners.shape
  x0, y0, x1, y1 = _clip_box(tuple(int(v) for v in (math.floor(box[0]), math.floor(box[1]),
                                                    math.ceil(box[2]) + 2, math.ceil(box[3]) + 2)),
                             w, h)
  if x1 <= x0 or y1 <= y0:
    return
  mine = (canvas.owners[y0:y1, x0:x1] == owner)[..., None]
  region = canvas.image[y0:y1, x0:x1].astype(np.float32)
  noise = cv2.GaussianBlur(rng.normal(0, 1, mine.shape[:2]).astype(np.float32), (0, 0), 1.0)
  noise /= noise.std() + 1e-6
  ramp = 1.0 + shade * (0.5 - np.linspace(0, 1, y1 - y0, dtype=np.float32))[:, None]
  lit = np.clip(region * (ramp * (1 + grain * noise))[..., None], 0, 255)
  canvas.image[y0:y1, x0:x1] = np.where(mine, lit, region).astype(np.uint8)


def _bag(canvas: _Canvas, owner: int, box, colour, style: int,
         rng: np.random.Generator) -> None:
  """A backpack (style 0), a tote bag (1) or a sports bag (2) filling `box`."""
  x0, y0, x1, y1 = box
  w, h, cx = x1 - x0, y1 - y0, (x0 + x1) / 2
  dark, light = _scaled(colour, 0.65), _scaled(colour, 1.2, 35)
  strap = max(1, w / 10)
  if style == 0:
    canvas.draw(_ellipse_shape((cx, y0 + 0.12 * h), (0.15 * w, 0.12 * h), 0, 180, 360,
                               max(1, int(round(strap)))), dark, owner)  # Grab handle.
    canvas.draw(_ellipse_shape((cx, y0 + 0.35 * h), (w / 2, 0.25 * h), 0, 180, 360),
                colour, owner)
    canvas.draw(_box_shape(x0, y0 + 0.35 * h, x1, y1, 0.15 * w), colour, owner)
    pocket = (x0 + 0.15 * w, y0 + 0.58 * h, x1 - 0.15 * w, y1 - 0.06 * h)
    canvas.draw(_box_shape(*pocket, 0.12 * w), _scaled(colour, 0.82), owner)
    canvas.draw(_line_shape(pocket[:2], (pocket[2], pocket[1]), 1), light, owner)  # Zip.
  elif style == 1:
    for side in (-1, 1):  # Two handles.
      canvas.draw(_ellipse_shape((cx + side * 0.18 * w, y0 + 0.3 * h), (0.13 * w, 0.28 * h),
                                 0, 180, 360, max(1, int(round(strap)))), dark, owner)
    canvas.draw(_polygon_shape([(x0 + 0.1 * w, y0 + 0.3 * h), (x1 - 0.1 * w, y0 + 0.3 * h),
                                (x1, y1), (x0, y1)]), colour, owner)
    canvas.draw(_line_shape((x0 + 0.2 * w, y0 + 0.45 * h), (x1 - 0.2 * w, y0 + 0.45 * h), 1),
                dark, owner)
  else:
    accent = _BAG_BGR[int(rng.integers(len(_BAG_BGR)))]
    canvas.draw(_ellipse_shape((cx, y0 + 0.2 * h), (0.25 * w, 0.2 * h), 0, 180, 360,
                               max(1, int(round(strap)))), dark, owner)
    canvas.draw(_box_shape(x0, y0 + 0.2 * h, x1, y1, 0.3 * h), colour, owner)
    for end in (x0, x1 - 0.2 * w):  # End panels.
      canvas.draw(_box_shape(end, y0 + 0.25 * h, end + 0.2 * w, y1 - 0.05 * h, 0.2 * h),
                  accent, owner)
    canvas.draw(_line_shape((x0 + 0.25 * w, y0 + 0.3 * h), (x1 - 0.25 * w, y0 + 0.3 * h), 1),
                light, owner)
  _texture(canvas, owner, box, rng, grain=0.06, shade=0.35)


def _paper(canvas: _Canvas, owner: int, centre, w: float, h: float, angle: float,
           colour, style: int, rng: np.random.Generator) -> None:
  """A sheet with lines of writing (style 0), an open notebook (1) or a closed book (2),
  lying on a desk (seen from above and in front: a flat quadrilateral)."""
  cx, cy = centre
  c, s = math.cos(math.radians(angle)), math.sin(math.radians(angle))

  def at(u: float, v: float) -> tuple[float, float]:  # u, v in [-1, 1]: across, down.
    u *= 1 - 0.08 * (1 - v) / 2  # The far edge a little narrower.
    x, y = u * w / 2, v * h / 2
    return cx + c * x - s * y, cy + s * x + c * y
  corners = [at(-1, -1), at(1, -1), at(1, 1), at(-1, 1)]
  if style == 2:  # A book: pages, and a cover a little smaller on top of them.
    canvas.draw(_polygon_shape(corners), (225, 230, 232), owner)
    colour = _BAG_BGR[int(rng.integers(len(_BAG_BGR)))]
    canvas.draw(_polygon_shape([at(-1, -1), at(0.9, -1), at(0.9, 0.8), at(-1, 0.8)]), colour,
                owner)
    canvas.draw(_polygon_shape([at(-0.5, -0.5), at(0.3, -0.5), at(0.3, 0.0), at(-0.5, 0.0)]),
                (235, 235, 235), owner)  # Its label.
  else:
    canvas.draw(_polygon_shape(corners), colour, owner)
    ink = (150, 110, 90) if style == 1 else (110, 110, 115)
    rows = int(h // 3)
    for k in range(rows):
      v = -0.7 + 1.4 * (k + 0.5) / rows
      if style == 1:
        for left, right in ((-0.9, -0.1), (0.1, 0.9)):
          canvas.draw(_line_shape(at(left, v), at(right, v), 1), _scaled(colour, 0.8), owner)
      else:
        end = -0.8 + 1.6 * rng.uniform(0.4, 1.0)
        canvas.draw(_line_shape(at(-0.8, v), at(end, v), 1), ink, owner)
    if style == 1:  # The notebook's spine.
      canvas.draw(_line_shape(at(0, -1), at(0, 1), 1), _scaled(colour, 0.6), owner)
  xs, ys = zip(*corners)
  _texture(canvas, owner, (min(xs), min(ys), max(xs), max(ys)), rng, grain=0.03, shade=0.1)


def _pencil_case(canvas: _Canvas, owner: int, centre, w: float, h: float, colour,
                 style: int, rng: np.random.Generator) -> None:
  """A zipped case (style 0), a patterned pouch (1) or a tin with pencils (2)."""
  cx, cy = centre
  x0, y0, x1, y1 = cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2
  if style == 2:
    for k in range(int(rng.integers(1, 4))):  # Pencils sticking out.
      y = y0 + (k + 1) * h / 4
      tip = x1 + rng.uniform(0.2, 0.45) * w
      canvas.draw(_line_shape((x1 - 1, y), (tip, y), max(1, h / 5)),
                  ((40, 200, 230), (60, 60, 200), (200, 130, 50))[k], owner)
    canvas.draw(_box_shape(x0, y0, x1, y1, 1), colour, owner)
    canvas.draw(_line_shape((x0, y0 + 0.3 * h), (x1, y0 + 0.3 * h), 1), _scaled(colour, 0.6),
                owner)  # The lid's edge.
  elif style == 1:
    canvas.draw(_ellipse_shape((cx, cy), (w / 2, h / 2)), colour, owner)
    other = _scaled(colour, 0.6, 60)
    for k in range(1, 5):  # Stripes.
      x = x0 + k * w / 5
      canvas.draw(_line_shape((x, y0 + 0.2 * h), (x, y1 - 0.2 * h), max(1, w / 14)), other,
                  owner)
  else:
    canvas.draw(_box_shape(x0, y0, x1, y1, h / 2), colour, owner)
    canvas.draw(_line_shape((x0 + h / 3, y0 + 0.35 * h), (x1 - h / 3, y0 + 0.35 * h), 1),
                _scaled(colour, 0.5), owner)  # The zip and its pull.
    canvas.draw(_box_shape(x1 - h / 2, y0 + 0.25 * h, x1 - h / 4, y0 + 0.6 * h), (190, 190, 195),
                owner)
  _texture(canvas, owner, (x0, y0, x1 + 0.45 * w, y1), rng, grain=0.05, shade=0.3)


def _hand(canvas: _Canvas, owner: int, palm: tuple[float, float], up: tuple[float, float],
          size: int, skin: tuple[int, int, int], shirt: tuple[int, int, int] | None = None,
          elbow: tuple[float, float] | None = None) -> None:
  """A hand of a face of `size` px: palm at `palm`, fingers along the unit vector
  `up`; with `elbow`, a sleeved forearm from there to the wrist (not the hand's)."""
  ux, uy = up
  nx, ny = -uy, ux
  px, py = palm
  wrist = (px - 0.22 * size * ux, py - 0.22 * size * uy)
  if elbow is not None:
    cuff = (px - 0.34 * size * ux, py - 0.34 * size * uy)
    canvas.draw(_line_shape(elbow, cuff, 0.34 * size), shirt, 0)
  canvas.draw(_line_shape(wrist, palm, 0.22 * size), _scaled(skin, 0.92), owner)
  canvas.draw(_ellipse_shape(palm, (0.2 * size, 0.15 * size), math.degrees(math.atan2(uy, ux))),
              skin, owner)
  finger = _scaled(skin, 0.95)
  for k, length in zip((-1.5, -0.5, 0.5, 1.5), (0.2, 0.26, 0.25, 0.19)):
    spread = math.radians(7 * k)
    fx, fy = (ux * math.cos(spread) - uy * math.sin(spread),
              ux * math.sin(spread) + uy * math.cos(spread))
    base = (px + 0.1 * size * ux + 0.075 * k * size * nx,
            py + 0.1 * size * uy + 0.075 * k * size * ny)
    canvas.draw(_line_shape(base, (base[0] + length * size * fx, base[1] + length * size * fy),
                            0.075 * size), finger, owner)
  thumb = (px + 0.13 * size * nx - 0.05 * size * ux, py + 0.13 * size * ny - 0.05 * size * uy)
  canvas.draw(_line_shape(thumb, (thumb[0] + 0.16 * size * (0.6 * nx + 0.8 * ux),
                                  thumb[1] + 0.16 * size * (0.6 * ny + 0.8 * uy)),
                          0.085 * size), finger, owner)


def _unit(x: float, y: float) -> tuple[float, float]:
  norm = math.hypot(x, y) or 1.0
  return x / norm, y / norm


def _printed_face(face: np.ndarray, size: int, tint, rng: np.random.Generator) -> np.ndarray:
  """A FER2013 face as printed on a poster: flat, paler, tinted, a little soft."""
  face = np.asarray(face, np.uint8).reshape(face.shape[0], face.shape[1])
  gray = cv2.resize(face, (size, size), interpolation=cv2.INTER_AREA).astype(np.float32)
  gray = 140 + rng.uniform(0.55, 0.8) * (gray - gray.mean()) + rng.uniform(0, 25)
  gray = cv2.GaussianBlur(gray, (0, 0), 0.5)
  return np.clip(gray[..., None] * np.asarray(tint, np.float32), 0, 255).astype(np.uint8)


def _rests(events: list[tuple[int, int, int, int]], num_frames: int, fps: float,
           realism: Realism, rng: np.random.Generator) -> list[tuple[int, int, int, int]]:
  """Spells of one student resting the head in a hand, in the quiet time between
  events: (first frame, end frame, index into _REST_POSES, side +-1)."""
  busy = (realism.down_share + realism.turned_share + realism.lean_share + realism.arm_share)
  share = min(0.9, realism.rest_share / max(1.0 - busy, 0.1))
  if share <= 0:
    return []
  mean_s = sum(realism.event_s) / 2
  margin = int(round(0.5 * fps))
  rests = []
  t = rng.uniform(0, mean_s * (1 - share) / share)
  while t * fps < num_frames:
    duration = rng.uniform(*realism.event_s)
    first, end = int(t * fps), int((t + duration) * fps)
    pose, side = int(rng.integers(len(_REST_POSES))), int(rng.choice((-1, 1)))
    if all(end + margin <= s or e + margin <= first for s, e, _, _ in events):
      rests.append((first, end, pose, side))
    t += duration + rng.exponential(mean_s * (1 - share) / share)
  return rests


@dataclasses.dataclass(frozen=True)
class _Prop:
  """One distractor: whose pixels it holds in the id map, and what it is."""
  owner: int
  kind: str
  box: tuple[int, int, int, int]  # As drawn, nothing over it.
  pixels: int                      # Its pixels then.


def _recorded(owners: np.ndarray, owner: int, kind: str, near) -> _Prop | None:
  """The prop `owner` just drawn in `owners` (inside the box `near`), None if off screen."""
  h, w = owners.shape
  x0, y0, x1, y1 = _clip_box((int(near[0]) - 2, int(near[1]) - 2, int(near[2]) + 3,
                              int(near[3]) + 3), w, h)
  ys, xs = np.nonzero(owners[y0:y1, x0:x1] == owner)
  if not len(ys):
    return None
  return _Prop(owner, kind, (x0 + int(xs.min()), y0 + int(ys.min()), x0 + int(xs.max()) + 1,
                             y0 + int(ys.max()) + 1), len(ys))


def _prop_truth(prop: _Prop, ids: np.ndarray, occlusion_threshold: float) -> dict:
  """The ground truth of one distractor, its hidden share read from the id map."""
  x0, y0, x1, y1 = prop.box
  shown = int(np.count_nonzero(ids[y0:y1, x0:x1] == prop.owner))
  occluded = 1.0 - shown / prop.pixels
  return {"id": prop.owner, "kind": prop.kind, "box": list(prop.box),
          "visible": bool(occluded < occlusion_threshold), "occluded_fraction": round(occluded, 4)}


@dataclasses.dataclass(frozen=True)
class _Layer:
  """Props drawn once and pasted in every frame: a crop of a `_Canvas`."""
  x0: int
  y0: int
  image: np.ndarray
  owners: np.ndarray
  drawn: np.ndarray  # bool

  @classmethod
  def of(cls, canvas: _Canvas) -> _Layer | None:
    ys, xs = np.nonzero(canvas.drawn)
    if not len(ys):
      return None
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    return cls(int(x0), int(y0), canvas.image[y0:y1, x0:x1].copy(),
               canvas.owners[y0:y1, x0:x1].copy(), canvas.drawn[y0:y1, x0:x1] > 0)

  def paste(self, image: np.ndarray, ids: np.ndarray) -> None:
    h, w = self.drawn.shape
    np.copyto(image[self.y0:self.y0 + h, self.x0:self.x0 + w], self.image,
              where=self.drawn[..., None])
    np.copyto(ids[self.y0:self.y0 + h, self.x0:self.x0 + w], self.owners, where=self.drawn)


class _Lesson(_Renderer):
  """The realistic rendering of `generate`: set up once, then one frame at a time."""

  def __init__(self, faces: np.ndarray, labels: np.ndarray, num_students: int,
               num_frames: int, seed: int, *, realism: Realism, **common):
    rng = np.random.default_rng(seed)
    self.realism = realism
    self.seed = seed
    (self.teacher_face,) = self._set_up(faces, labels, num_students, num_frames, rng,
                                        perspective_layout, extra_faces=1, **common)
    face_size, fps = common["face_size"], common["fps"]
    self.hairs = [_HAIR[k] for k in rng.integers(0, len(_HAIR), len(self.seats))]
    self.tints = [_SKIN[k] for k in rng.integers(0, len(_SKIN), len(self.seats) + 1)]
    self.events = [_events(num_frames, fps, realism, rng, can_lean=seat.row > 0)
                   for seat in self.seats]
    self.gains = _lighting(num_frames, fps, realism, rng)
    self.ramp = max(1.0, 0.3 * fps)
    self.patches: dict[tuple, tuple[np.ndarray, tuple[int, int, int]]] = {}
    self.rows = sorted({s.row for s in self.seats})
    self.targets = [self._behind(seat) for seat in self.seats]
    in_row = {r: [s for s in self.seats if s.row == r] for r in self.rows}
    self.desk_x = {r: (min(s.cell[0] for s in row), max(s.cell[2] for s in row))
                   for r, row in in_row.items()}
    size = {r: max(s.face_size for s in row) for r, row in in_row.items()}
    row_y = {r: max(s.centre[1] for s in row) for r, row in in_row.items()}
    self.desk_y = {r: (row_y[r] + 1.35 * size[r], row_y[r] + 1.9 * size[r])
                   for r in self.rows}
    front = self.rows[-1]
    self.teacher_size = int(round(1.4 * face_size[1]))
    self.teacher_top = int(row_y[front] - 0.54 * size[front] - 4)
    self._set_up_distractors(seed, num_frames, face_size)

  def _set_up_distractors(self, seed: int, num_frames: int, face_size: tuple[int, int]
                          ) -> None:
    """The poster, chairs and what lies on the desks (drawn once), and hand spells.

    Owners in the id map: students 1..n, the teacher n + 1, the hand holding
    student i's head n + 2 + i, student i's raised hand 2n + 2 + i, then the props.
    """
    n = len(self.seats)
    self.props: list[_Prop] = []
    self.chairs: dict[int, _Layer | None] = {}
    self.on_desks: dict[int, _Layer | None] = {}
    self.base_ids = np.zeros((self.height, self.width), np.uint16)
    self.rests: list[list[tuple[int, int, int, int]]] = [[] for _ in self.seats]
    self.hand_owner = n + 2
    if not self.realism.distractors:
      return
    # Streams of their own: the rest of the lesson stays as it is, the room as
    # long as the lesson.
    rng = np.random.default_rng([seed, 1])
    owner = self._poster(rng, 3 * n + 2, face_size)
    for row in self.rows:
      owner = self._row_props(rng, row, owner)
    rng = np.random.default_rng([seed, 2])
    self.rests = [_rests(events, num_frames, self.fps, self.realism, rng)
                  for events in self.events]

  def _poster(self, rng: np.random.Generator, owner: int, face_size: tuple[int, int]) -> int:
    """A framed poster of printed FER2013 faces on the wall above the back row.

    Its faces are drawn from the pool the students' are not; returns the next owner.
    """
    back = [s for s in self.seats if s.row == self.rows[0]]
    top = 0.08 * self.height
    bottom = min(s.centre[1] - 0.8 * s.face_size - s.sway[1] for s in back) - 4
    size, cols, rows = rng.uniform(face_size[0] + 2, sum(face_size) / 2), int(rng.integers(2, 5)), 2
    if (bottom - top) / (2 * 1.3 + 1.05) < max(face_size[0], 8):
      rows = 1
    size = int(min(size, (bottom - top) / (rows * 1.3 + 1.05)))
    if size < max(face_size[0], 8):
      return owner
    pad, cell_w, cell_h, title = (max(2, round(0.3 * size)), round(1.3 * size),
                                  round(1.3 * size), round(0.45 * size))
    width, height = 2 * pad + cols * cell_w - (cell_w - size), 2 * pad + title + rows * cell_h
    side = rng.uniform(0.02, 0.32 - width / self.width) if width < 0.3 * self.width else 0.02
    x0 = int((side if rng.random() < 0.5 else 1 - side - width / self.width) * self.width)
    y0 = int(top + rng.uniform(0, max(bottom - top - height, 0)))
    canvas = _Canvas(self.background, self.base_ids)
    paper = _POSTER_BGR[int(rng.integers(len(_POSTER_BGR)))]
    canvas.draw(_box_shape(x0, y0, x0 + width - 1, y0 + height - 1), paper, 0)
    _texture(canvas, 0, (x0, y0, x0 + width - 1, y0 + height - 1), rng, grain=0.03, shade=-0.1)
    ink = (60, 50, 45) if rng.random() < 0.7 else (40, 40, 150)
    x = x0 + pad
    while x < x0 + width - pad - 3:  # A printed title.
      word = min(rng.uniform(0.4, 1.2) * size, x0 + width - pad - x)
      canvas.draw(_box_shape(x, y0 + pad, x + word - 1, y0 + pad + max(1, 0.22 * size)), ink, 0)
      x += word + max(2, 0.2 * size)
    tint = _PRINT_TINTS[int(rng.integers(len(_PRINT_TINTS)))]
    taken = set(self.chosen.ravel().tolist()) | {int(self.teacher_face)}
    pool = np.setdiff1d(np.arange(len(self.faces)), list(taken))
    pool = pool if len(pool) >= rows * cols else np.arange(len(self.faces))
    chosen = rng.choice(pool, rows * cols, replace=len(pool) < rows * cols)
    for k, face in enumerate(chosen):
      fx = x0 + pad + (k % cols) * cell_w
      fy = y0 + pad + title + (k // cols) * cell_h
      canvas.draw(_box_shape(fx - 1, fy - 1, fx + size, fy + size), (236, 238, 240), 0)
      self.background[fy:fy + size, fx:fx + size] = _printed_face(self.faces[face], size,
                                                                  tint, rng)
      self.base_ids[fy:fy + size, fx:fx + size] = owner
      self.props.append(_Prop(owner, "printed_face", (fx, fy, fx + size, fy + size),
                              size * size))
      caption_y = fy + 1.15 * size
      canvas.draw(_line_shape((fx, caption_y), (fx + rng.uniform(0.5, 1.0) * size, caption_y), 1),
                  ink, 0)
      owner += 1
    frame = _POSTER_FRAME_BGR[int(rng.integers(len(_POSTER_FRAME_BGR)))]
    thickness = max(1, round(size / 8))
    canvas.draw(lambda target, value: cv2.rectangle(target, (x0, y0),
                                                    (x0 + width - 1, y0 + height - 1), value,
                                                    thickness), frame, 0)
    return owner

  def _clearance(self, x0: float, x1: float, row: int) -> float:
    """The highest a prop in `row` spanning x0..x1 may reach without covering a face."""
    limit = -math.inf
    for seat in self.seats:
      half = seat.face_size / 2 + seat.sway[0] + 1
      if seat.row <= row and x0 < seat.centre[0] + half and seat.centre[0] - half < x1:
        limit = max(limit, seat.centre[1] + seat.face_size / 2 + seat.sway[1] + 2)
    return limit

  def _row_props(self, rng: np.random.Generator, row: int, owner: int) -> int:
    """Empty chairs with bags between the students of `row`; bags, papers and pencil
    cases on its desk. Returns the next owner."""
    seats = [s for s in self.seats if s.row == row]
    size = max(s.face_size for s in seats)
    (left, right), (desk_top, desk_bottom) = self.desk_x[row], self.desk_y[row]
    band = desk_bottom - desk_top
    chairs, desk = _Canvas.blank(self.width, self.height), _Canvas.blank(self.width, self.height)
    desk_bags, chair_bags = [], []
    for a, b in zip(seats, seats[1:]):  # Gaps between neighbours' shoulders.
      free = b.centre[0] - a.centre[0] - 0.9 * (a.face_size + b.face_size) - a.sway[0] - b.sway[0]
      middle, draw = (a.centre[0] + b.centre[0]) / 2, rng.random()
      if draw < 0.18 and free > size:
        chair_bags.append((middle, free))
      elif draw < 0.4:
        desk_bags.append(middle)
    for end, draw in zip((left + 0.6 * size, right - 0.6 * size), rng.random(2)):
      if draw < 0.3:
        desk_bags.append(end)
    for middle, free in chair_bags:
      width = min(rng.uniform(0.8, 1.2) * size, free - 0.3 * size)
      chair = min(width + 0.3 * size, free)
      bag = (middle - width / 2, desk_top - rng.uniform(0.55, 0.95) * size, middle + width / 2,
             desk_top + 0.3 * size)
      chairs.draw(_box_shape(middle - chair / 2, bag[1] - rng.uniform(0.2, 0.4) * size,
                             middle + chair / 2, desk_top + 1, 0.15 * size),
                  _CHAIR_BGR[int(rng.integers(len(_CHAIR_BGR)))], 0)
      _bag(chairs, owner, bag, _BAG_BGR[int(rng.integers(len(_BAG_BGR)))],
           int(rng.choice((0, 0, 2))), rng)
      for layer in (chairs.image, chairs.owners, chairs.drawn):  # Behind the desk.
        layer[int(desk_top):] = 0
      owner = self._record(chairs, owner, "bag", bag)
    for middle in desk_bags:
      style = int(rng.integers(3))
      width = rng.uniform(0.8, 1.3) * size * (1.3 if style == 2 else 1.0)
      bottom = desk_top + rng.uniform(0.2, 0.5) * band
      height = rng.uniform(0.9, 1.5) * size * (0.6 if style == 2 else 1.0)
      height = min(height, bottom - self._clearance(middle - width / 2, middle + width / 2, row))
      if height >= 0.4 * size:
        bag = (middle - width / 2, bottom - height, middle + width / 2, bottom)
        _bag(desk, owner, bag, _BAG_BGR[int(rng.integers(len(_BAG_BGR)))], style, rng)
        owner = self._record(desk, owner, "bag", bag)
    for seat in seats:
      if rng.random() < 0.55:
        width, height = rng.uniform(0.9, 1.6) * size, rng.uniform(0.45, 0.75) * band
        x = np.clip(seat.centre[0] + rng.uniform(-0.7, 0.7) * size, left + width / 2,
                    right - width / 2)
        y = desk_top + rng.uniform(0.35, 0.6) * band
        _paper(desk, owner, (x, y), width, height, rng.uniform(-8, 8),
               _PAPER_BGR[int(rng.integers(len(_PAPER_BGR)))], int(rng.choice((0, 0, 1, 2))),
               rng)
        owner = self._record(desk, owner, "paper", (x - width, y - height, x + width,
                                                    y + height))
      if rng.random() < 0.3:
        width, height = rng.uniform(0.55, 0.9) * size, rng.uniform(0.22, 0.32) * size
        x = np.clip(seat.centre[0] + rng.choice((-1, 1)) * rng.uniform(0.4, 1.1) * size,
                    left + width, right - width)
        y = desk_top + rng.uniform(0.3, 0.6) * band
        _pencil_case(desk, owner, (x, y), width, height,
                     _CASE_BGR[int(rng.integers(len(_CASE_BGR)))], int(rng.integers(3)), rng)
        owner = self._record(desk, owner, "pencil_case", (x - width, y - height,
                                                          x + 1.5 * width, y + height))
    self.chairs[row], self.on_desks[row] = _Layer.of(chairs), _Layer.of(desk)
    return owner

  def _record(self, canvas: _Canvas, owner: int, kind: str, near) -> int:
    """Lists the prop just drawn as `owner` (if on screen); returns the next owner."""
    prop = _recorded(canvas.owners, owner, kind, near)
    if prop is not None:
      self.props.append(prop)
    return owner + 1

  def _behind(self, seat: Seat) -> tuple[float, float, int] | None:
    """Rest centre and size of the nearest face in the row behind `seat`."""
    others = [s for s in self.seats if s.row == seat.row - 1]
    if not others:
      return None
    nearest = min(others, key=lambda s: abs(s.centre[0] - seat.centre[0]))
    return nearest.centre[0], nearest.centre[1], nearest.face_size

  def _state(self, i: int, frame: int) -> _State:
    seat, t = self.seats[i], frame / self.fps
    kind, amount, direction = _FRONTAL, 0.0, 1
    for start, end, k, d in self.events[i]:
      if start <= frame < end:
        kind, amount, direction = k, _envelope(frame, start, end, self.ramp), d
        break
    cx = seat.centre[0] + seat.sway[0] * math.sin(2 * math.pi * t / seat.period_s[0]
                                                    + seat.phase[0])
    cy = seat.centre[1] + seat.sway[1] * math.sin(2 * math.pi * t / seat.period_s[1]
                                                    + seat.phase[1])
    if kind == _LEAN and self.targets[i] is not None:  # Head over the face behind.
      bx, by, bsize = self.targets[i]
      cx += amount * (bx - cx) * 0.8
      cy += amount * (by + 0.2 * bsize + 0.75 * seat.face_size - cy)
    return _State((cx, cy), kind, amount, direction)

  def _student(self, image: np.ndarray, ids: np.ndarray, i: int, state: _State,
               change: int) -> tuple[int, tuple[int, int, int, int], str, int]:
    """Draws student i; returns (id, unclipped face box, pose, label)."""
    size = self.seats[i].face_size
    cx, cy = state.centre
    _person(image, ids, (cx, cy), size, self.desk_y[self.seats[i].row][0] + 2,
            self.shirts[i], self.hairs[i], _skin(self.tints[i]))
    posed = state.kind in (_DOWN, _TURNED) and state.amount >= 0.05
    kind = state.kind if posed else _FRONTAL
    amount = round(state.amount * 10) / 10 if posed else 0.0
    direction = state.direction if kind == _TURNED else 1
    key = (i, change, kind, amount, direction)
    if key not in self.patches:
      self.patches[key] = _pose_patch(self.faces[self.chosen[i, change]], size, kind,
                                      amount, direction, self.tints[i], self.realism)
    patch, (w, h, dx) = self.patches[key]
    x0, y0 = int(round(cx - size / 2)) + dx, int(round(cy - size / 2)) + size - h
    box = (x0, y0, x0 + w, y0 + h)
    _paste_face(image, ids, patch, box, i + 1)
    pose = POSES[kind] if amount >= 0.5 else "frontal"
    return i + 1, box, pose, int(self.labels[self.chosen[i, change]])

  def _desk(self, image: np.ndarray, ids: np.ndarray, row: int) -> None:
    (left, right), (top, bottom) = self.desk_x[row], self.desk_y[row]
    _rectangle(image, ids, (left, top), (right, bottom), _DESK_BGR)
    cv2.rectangle(image, (int(left), int(top)), (int(right), int(bottom)), _DESK_EDGE_BGR, 1)

  def _arm(self, image: np.ndarray, ids: np.ndarray, i: int, state: _State) -> _Prop | None:
    """A raised arm, from the shoulder up past the rows behind; its hand (with distractors)."""
    size, (cx, cy), d, a = self.seats[i].face_size, state.centre, state.direction, state.amount
    shoulder = (int(cx + d * 0.75 * size), int(cy + 1.0 * size))
    hand = (int(cx + d * (0.75 + 0.5 * a) * size), int(cy + 1.0 * size - a * 3.2 * size))
    thickness = max(2, int(0.38 * size))
    cv2.line(image, shoulder, hand, self.shirts[i], thickness)
    cv2.line(ids, shoulder, hand, 0, thickness)
    if not self.realism.distractors:
      _ellipse(image, ids, hand, (0.24 * size, 0.3 * size), (120, 150, 200))
      return None
    up = _unit(hand[0] - shoulder[0], hand[1] - shoulder[1])
    palm = (hand[0] + 0.12 * size * up[0], hand[1] + 0.12 * size * up[1])
    owner = self.hand_owner + len(self.seats) + i
    _hand(_Canvas(image, ids), owner, palm, up, size, _skin(self.tints[i]))
    return _recorded(ids, owner, "hand", (palm[0] - 0.6 * size, palm[1] - 0.6 * size,
                                          palm[0] + 0.6 * size, palm[1] + 0.6 * size))

  def _rest(self, i: int, frame: int) -> tuple[float, int, int] | None:
    """(how far the hand is up, pose, side) while student i rests the head in a hand."""
    for start, end, pose, side in self.rests[i]:
      if start <= frame < end:
        return _envelope(frame, start, end, self.ramp), pose, side
    return None

  def _rest_hand(self, image: np.ndarray, ids: np.ndarray, i: int,
                 box: tuple[int, int, int, int], amount: float, pose: int, side: int
                 ) -> _Prop | None:
    """The hand holding student i's head (face drawn at `box`), the elbow on the desk;
    `amount` (0..1) lifts it from the desk to the face."""
    seat = self.seats[i]
    size = seat.face_size
    cx, cy = (box[0] + box[2]) / 2, box[3] - size / 2
    desk_top = self.desk_y[seat.row][0]
    elbow = (cx + side * 0.6 * size, desk_top + 0.1 * size)
    target, up = {"chin": ((cx + side * 0.05 * size, cy + 0.55 * size), (-side * 0.3, -1.0)),
                  "cheek": ((cx + side * 0.45 * size, cy + 0.22 * size), (-side * 0.35, -1.0)),
                  "mouth": ((cx + side * 0.2 * size, cy + 0.3 * size), (-side, -0.5))
                  }[_REST_POSES[pose]]
    lying = (elbow[0] - side * 0.45 * size, desk_top - 0.12 * size)
    palm = (lying[0] + amount * (target[0] - lying[0]), lying[1] + amount * (target[1] - lying[1]))
    up = _unit(-side * (1 - amount) + amount * up[0], amount * up[1])
    owner = self.hand_owner + i
    _hand(_Canvas(image, ids), owner, palm, up, size, _skin(self.tints[i]), self.shirts[i],
          elbow)
    return _recorded(ids, owner, "hand", (palm[0] - 0.6 * size, palm[1] - 0.6 * size,
                                          palm[0] + 0.6 * size, palm[1] + 0.6 * size))

  def _teacher(self, image: np.ndarray, ids: np.ndarray, frame: int
               ) -> tuple[list[int] | None, dict | None]:
    """Draws the teacher; returns (body box, face truth), None when off screen."""
    width, size = self.teacher_width, self.teacher_size
    left = _teacher_left(frame, self.teacher_start, self.teacher_speed, self.width, width) \
        if self.teacher else None
    if left is None:
      return None, None
    top = self.teacher_top
    cx, cy = left + width / 2, top - 0.62 * size
    _ellipse(image, ids, (cx, top + 0.05 * size), (width / 2, 0.35 * size), _TEACHER_BGR,
             180, 360)
    _rectangle(image, ids, (left, top + 0.05 * size), (left + width - 1, self.height - 1),
               _TEACHER_BGR)
    _ellipse(image, ids, (cx, cy - 0.1 * size), (0.6 * size, 0.68 * size), _HAIR[0])
    key = ("teacher", size)
    if key not in self.patches:
      self.patches[key] = _pose_patch(self.faces[self.teacher_face], size, _FRONTAL, 0.0, 1,
                                      self.tints[-1], self.realism)
    x0, y0 = int(round(cx - size / 2)), int(round(cy - size / 2))
    box = (x0, y0, x0 + size, y0 + size)
    owner = len(self.seats) + 1
    _paste_face(image, ids, self.patches[key][0], box, owner)
    body = _teacher_box(frame, self.teacher_start, self.teacher_speed, self.width, top,
                        self.height, width)
    if _clip_box(box, self.width, self.height)[2] <= max(box[0], 0):
      return list(body) if body else None, None
    truth = _face_truth(owner, box, ids, "frontal", int(self.labels[self.teacher_face]),
                        self.class_names, self.occlusion_threshold)
    return list(body) if body else None, dict(truth, teacher=True)

  def frame(self, index: int) -> tuple[np.ndarray, dict]:
    """Frame `index` (BGR) and its ground truth."""
    image = self.background.copy()
    ids = self.base_ids.copy()
    change = index // self.label_change_every if self.label_change_every else 0
    drawn, hands = [], []
    for row in self.rows:  # Back to front: nearer rows cover farther ones.
      if self.chairs.get(row) is not None:
        self.chairs[row].paste(image, ids)
      arms, rests = [], []
      for i, seat in enumerate(self.seats):
        if seat.row == row:
          state = self._state(i, index)
          drawn.append(self._student(image, ids, i, state, change))
          if state.kind == _ARM and state.amount > 0:
            arms.append((i, state))
          rest = self._rest(i, index)
          if rest is not None:
            rests.append((i, drawn[-1][1], rest))
      self._desk(image, ids, row)
      if self.on_desks.get(row) is not None:
        self.on_desks[row].paste(image, ids)
      for i, box, rest in rests:
        hands.append(self._rest_hand(image, ids, i, box, *rest))
      for i, state in arms:
        hands.append(self._arm(image, ids, i, state))
    teacher_box, teacher_truth = self._teacher(image, ids, index)
    gain = self.gains[index]
    if not np.allclose(gain, 1.0):
      lut = np.clip(np.arange(256, dtype=np.float32)[:, None] * gain[None, :], 0, 255)
      image = cv2.LUT(image, lut.astype(np.uint8).reshape(256, 1, 3))
    if self.realism.sensor_noise > 0:
      noise = np.random.default_rng((self.seed, index)).standard_normal(image.shape,
                                                                        np.float32)
      image = np.clip(image + self.realism.sensor_noise * noise + 0.5, 0, 255).astype(np.uint8)
    students = [_face_truth(owner, box, ids, pose, label, self.class_names,
                            self.occlusion_threshold) for owner, box, pose, label in drawn]
    distractors = [_prop_truth(prop, ids, self.occlusion_threshold)
                   for prop in self.props + [h for h in hands if h is not None]]
    return image, {"frame": index, "time_s": round(index / self.fps, 6),
                   "teacher_box": teacher_box, "teacher": teacher_truth,
                   "students": students, "distractors": distractors}


TEACHER_WALK = 0.15  # The teacher's pace in a lesson: frame widths per second.


def lesson(faces: np.ndarray, labels: Iterable[int], num_students: int = 30,
           num_frames: int = 300, seed: int = 0, *, realism: Realism = Realism(),
           face_size: tuple[int, int] = (12, 30), width: int = 640, height: int = 480,
           fps: float = 15.0, teacher_speed: float | None = None, **kwargs
           ) -> Iterator[tuple[np.ndarray, dict]]:
  """A realistic lesson: `generate` with perspective rows of 12-30 px faces at 640x480.

  The teacher walks at TEACHER_WALK frame widths per second unless
  `teacher_speed` (px per frame) says otherwise: about 1 m/s across a room
  whose front the camera sees 6-7 m wide. kwargs go to `generate` (teacher,
  teacher_start, occlusion_threshold, label_change_every, ...).
  """
  if teacher_speed is None:
    teacher_speed = TEACHER_WALK * width / fps
  return generate(faces, labels, num_students, num_frames, seed, face_size=face_size,
                  width=width, height=height, fps=fps, teacher_speed=teacher_speed,
                  realism=realism, **kwargs)


def poster_region(truth: dict, width: int, height: int, margin: float = 0.05
                  ) -> tuple[float, float, float, float] | None:
  """The poster of printed faces in a frame's `truth` as an --ignore region (fractions of
  the frame, `margin` around it), as a teacher would mark it once; None without one."""
  boxes = np.array([d["box"] for d in truth["distractors"] if d["kind"] == "printed_face"],
                   np.float64).reshape(-1, 4)
  if not len(boxes):
    return None
  x0, y0 = boxes[:, :2].min(0) - margin * np.array([width, height])
  x1, y1 = boxes[:, 2:].max(0) + margin * np.array([width, height])
  return (max(x0 / width, 0.0), max(y0 / height, 0.0), min(x1 / width, 1.0),
          min(y1 / height, 1.0))


def lecture_photo(faces: np.ndarray, labels: Iterable[int], seed: int = 0, *,
                  num_people: int = 24, width: int = 4000, height: int = 2256,
                  face_size: tuple[int, int] = (60, 140),
                  class_names: tuple[str, ...] = EMOTIONS) -> tuple[np.ndarray, dict]:
  """One still of a lecture hall: (BGR image, ground truth of its single frame).

  `num_people` students face the camera in perspective rows, with faces of
  face_size px (back to front); no teacher, no events, even lighting.
  """
  return next(generate(faces, labels, num_people, 1, seed, width=width, height=height,
                       face_size=face_size, teacher=False, class_names=class_names,
                       realism=STILL))


def write_video(path: str | os.PathLike, frames: Iterable[np.ndarray], fps: float) -> int:
  """Writes BGR frames (.mp4: mp4v, .avi: MJPG); returns how many were written."""
  path = os.fspath(path)
  if os.path.splitext(path)[1].lower() not in files.VIDEO_FOURCC:
    raise ValueError(f"{path}: use one of {', '.join(files.VIDEO_FOURCC)}")
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  writer = None
  count = 0
  try:
    for frame in frames:
      if writer is None:
        writer = files.open_video_writer(path, fps, (frame.shape[1], frame.shape[0]))
      writer.write(frame)
      count += 1
  finally:
    if writer is not None:
      writer.release()
  return count


def load_fer_faces(split: str = "test", npz_path: str | None = None,
                   manual_dir: str | None = None) -> tuple[np.ndarray, np.ndarray]:
  """FER2013 faces (n, 48, 48) uint8 and labels, from a prepared .npz or the CSV.

  Raises DataError (with download instructions) when neither is given or found.
  """
  if npz_path:
    from ferjax.data import npz  # pylint: disable=g-import-not-at-top
    data = npz.load_split(npz_path, split)
    return data["image"][..., 0], data["label"]
  from ferjax.data import fer2013  # pylint: disable=g-import-not-at-top
  from ferjax.data.errors import DataError  # pylint: disable=g-import-not-at-top
  if not manual_dir:
    raise DataError("classroom videos are made of FER2013 faces: pass a prepared .npz "
                    "(--npz) or the folder holding fer2013.csv (--manual_dir)")
  table = fer2013.read_fer2013(manual_dir)
  rows = table.split_rows(split)
  return table.images[rows], table.labels[rows]
