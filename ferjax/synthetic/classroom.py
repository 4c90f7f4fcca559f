"""A synthetic classroom video with known faces, ids, expressions and occlusions.

Real face crops (e.g. FER2013 test faces) are upscaled and laid out in a grid
of seats on a textured back wall, each with a body and a desk below. Students
sway slowly inside their own seat, so they never overlap; back rows are
smaller than front rows. A 'teacher' (a faceless coat-coloured rectangle)
walks across the front, hiding the front row's faces for a few frames.

    for frame_bgr, truth in generate(faces, labels, num_students=15, num_frames=150):
      truth["students"]  # [{"id", "box", "visible", "occluded_fraction", "label", "emotion"}]

Ground truth per frame:
  {"frame": int, "time_s": float,
   "teacher_box": [x0, y0, x1, y1] | null,
   "students": [{"id": int (1..N, seat order: back row first, left to right),
                 "box": [x0, y0, x1, y1] (ints, x1/y1 exclusive: the pasted face),
                 "visible": bool (occluded_fraction < occlusion_threshold),
                 "occluded_fraction": float (share of the box under the teacher),
                 "label": int (index into EMOTIONS), "emotion": str}]}
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
import dataclasses
import math
import os

import cv2
import numpy as np

from ferjax.labels import EMOTIONS
from ferjax.live import sources

# Video containers this OpenCV build writes and reads back.


@dataclasses.dataclass(frozen=True)
class Seat:
  """Where one student sits: a cell no other student enters."""
  cell: tuple[int, int, int, int]  # x0, y0, x1, y1
  face_size: int
  centre: tuple[float, float]  # Face centre at rest.
  sway: tuple[float, float]  # Amplitude (px) in x and y.
  period_s: tuple[float, float]
  phase: tuple[float, float]


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


def _teacher_box(frame: int, start: int, speed: float, width: int, top: int, height: int,
                 teacher_width: int) -> tuple[int, int, int, int] | None:
  """Walks left to right, then back, from frame `start` on."""
  if frame < start:
    return None
  travel = width + teacher_width
  pass_frames = max(1, math.ceil(travel / speed))
  step = (frame - start) % (2 * pass_frames)
  distance = min((step if step < pass_frames else 2 * pass_frames - step) * speed, travel)
  x0 = int(round(-teacher_width + distance))
  x0c, x1c = max(x0, 0), min(x0 + teacher_width, width)
  if x1c <= x0c:
    return None
  return (x0c, top, x1c, height)


def generate(faces: np.ndarray, labels: Iterable[int], num_students: int = 15,
             num_frames: int = 150, seed: int = 0, *, width: int = 640, height: int = 480,
             fps: float = 15.0, face_size: tuple[int, int] = (30, 90),
             teacher: bool = True, teacher_start: int | None = None,
             teacher_speed: float = 8.0, occlusion_threshold: float = 0.5,
             label_change_every: int | None = None, feather: float = 0.0,
             class_names: tuple[str, ...] = EMOTIONS) -> Iterator[tuple[np.ndarray, dict]]:
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
    feather: share of the face's half-width over which its edges fade into
      the wall (0: hard edges; detectors find FER crops best that way).
    class_names: names for the labels.
  """
  faces = np.asarray(faces)
  if faces.ndim == 4:
    faces = faces[..., 0]
  labels = np.asarray(list(labels), np.int64)
  if faces.ndim != 3 or len(faces) != len(labels) or not len(faces):
    raise ValueError(f"need (n, h, w) faces with n labels, got {faces.shape} and "
                     f"{labels.shape}")
  rng = np.random.default_rng(seed)
  seats = layout(num_students, width, height, face_size, rng)
  background = _background(width, height, rng)
  num_faces_each = 1 if not label_change_every else math.ceil(num_frames / label_change_every)
  draws = num_students * num_faces_each
  chosen = rng.choice(len(faces), draws, replace=draws > len(faces))
  chosen = chosen.reshape(num_students, num_faces_each)
  shirts = [tuple(int(c) for c in rng.integers(30, 200, 3)) for _ in seats]
  patches: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}

  front_row_top = min(s.cell[1] for s in seats if s.cell[1] == max(t.cell[1] for t in seats))
  front_faces_top = min(int(s.centre[1] - s.face_size / 2 - s.sway[1]) for s in seats
                        if s.cell[1] == front_row_top)
  teacher_width = int(0.12 * width)
  teacher_top = max(front_faces_top - 4, 0)
  if teacher_start is None:
    teacher_start = num_frames // 4

  for frame_index in range(num_frames):
    t = frame_index / fps
    image = background.copy()
    change = frame_index // label_change_every if label_change_every else 0
    boxes = []
    for i, seat in enumerate(seats):
      cx = seat.centre[0] + seat.sway[0] * math.sin(2 * math.pi * t / seat.period_s[0]
                                                      + seat.phase[0])
      cy = seat.centre[1] + seat.sway[1] * math.sin(2 * math.pi * t / seat.period_s[1]
                                                      + seat.phase[1])
      x0, y0 = int(round(cx - seat.face_size / 2)), int(round(cy - seat.face_size / 2))
      boxes.append((x0, y0, x0 + seat.face_size, y0 + seat.face_size))
      # Body: shoulders below the face, inside the seat's cell.
      cell = seat.cell
      body_w = int(min(0.8 * seat.face_size, (cell[2] - cell[0]) / 2 - seat.sway[0] - 2))
      body_top = y0 + seat.face_size + 2
      cv2.ellipse(image, (int(cx), body_top + body_w // 2), (body_w, body_w // 2 + 4), 0,
                  180, 360, shirts[i], -1)
      cv2.rectangle(image, (int(cx) - body_w, body_top + body_w // 2),
                    (int(cx) + body_w, cell[3] - 1), shirts[i], -1)
      key = (i, change)
      if key not in patches:
        patches[key] = _face_patch(faces[chosen[i, change]], seat.face_size, feather)
      _paste(image, *patches[key], x0, y0)
      # Desk: the lower part of the cell.
      desk_top = max(body_top + body_w // 2 + 4, cell[3] - int(0.22 * (cell[3] - cell[1])))
      cv2.rectangle(image, (cell[0] + 2, desk_top), (cell[2] - 3, cell[3] - 1), (60, 95, 140), -1)
      cv2.rectangle(image, (cell[0] + 2, desk_top), (cell[2] - 3, cell[3] - 1), (40, 65, 100), 1)

    teacher_box = None
    if teacher:
      teacher_box = _teacher_box(frame_index, teacher_start, teacher_speed, width,
                                 teacher_top, height, teacher_width)
      if teacher_box is not None:
        cv2.rectangle(image, teacher_box[:2], (teacher_box[2] - 1, teacher_box[3] - 1),
                      (70, 50, 45), -1)

    students = []
    for i, box in enumerate(boxes):
      occluded = _overlap_fraction(box, teacher_box)
      label = int(labels[chosen[i, change]])
      students.append({"id": i + 1, "box": list(box),
                       "visible": bool(occluded < occlusion_threshold),
                       "occluded_fraction": round(occluded, 4), "label": label,
                       "emotion": class_names[label]})
    yield image, {"frame": frame_index, "time_s": round(t, 6),
                  "teacher_box": list(teacher_box) if teacher_box else None,
                  "students": students}


def write_video(path: str | os.PathLike, frames: Iterable[np.ndarray], fps: float) -> int:
  """Writes BGR frames (.mp4: mp4v, .avi: MJPG); returns how many were written."""
  path = os.fspath(path)
  if os.path.splitext(path)[1].lower() not in sources.VIDEO_FOURCC:
    raise ValueError(f"{path}: use one of {', '.join(sources.VIDEO_FOURCC)}")
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  writer = None
  count = 0
  try:
    for frame in frames:
      if writer is None:
        writer = sources.open_video_writer(path, fps, (frame.shape[1], frame.shape[0]))
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
