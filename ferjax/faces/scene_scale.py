"""Video detection that looks where the faces are, at the scale each one needs.

Detecting every round at the scale a `min_face` (14 px) face needs scans the
whole frame at that scale: in an HD frame millions of pixels, most of them
walls and desks, for faces that are mostly large. A classroom's faces stay
where they are, so `SceneScaledDetector` runs each detection round as:

- **the faces it follows**: a square window around each face seen in the last
  `MEMORY_ROUNDS` rounds, `CONTEXT` times the face's side, scaled to `CELL`
  input pixels (the face at 20 px: found when it turns, or moves by a face
  width), all packed into one mosaic image with `GAP` black pixels between
  windows, each window on the network's stride-32 grid (with less context, no
  gap, or windows off the grid, turned and half-hidden faces are missed:
  BENCHMARKS.md, "Live pipeline in HD"): one network call whose cost grows
  with the number of faces, not the frame size. A window stays put until its
  face moves by `RECENTRE` of its side: re-centred on every jittered box, a
  still face's crop would shift each round and its box with it (a picture on
  the wall would seem to move);
- **one step of the sweep**, every `SWEEP_EVERY` rounds: the frame at the full
  scale (`min_face`), cut into tiles of at most `SWEEP_TILE_SIDE` input pixels,
  one tile a step in turn, then one coarse pass of the whole frame for faces too
  large for a tile. A new face (a student who sits down, one who turns back
  after the memory) is found when the sweep reaches it: within `sweep_rounds`
  rounds (`detect_every` x that many frames); from the next round it is
  followed. Faces come and go far less often than they must be followed, so
  the sweep takes a step every second round only (BENCHMARKS.md, "Live pipeline
  in HD").

A face found in fewer than `SETTLED` rounds (a bag's or a hand's box, a second
box on a face) is followed `FLICKER_ROUNDS` rounds unseen, one found again and
again `MEMORY_ROUNDS`; faces the caller marks with `skip` (pictures, which never
move: `live.students`) are not followed at all.

The first round of a scene (a new pipeline, a new frame size) runs the full
plan, as does every round where following the faces would not cost less than
`WORTH` of it (many small faces in a small frame: a 640x480 classroom runs as
without this). Calls must come in frame order (one detection worker).

    detector = SceneScaledDetector(centerface)   # centerface.min_face: the smallest wanted
    faces = detector.detect(frame)               # each detection round, in order
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from ferjax.faces import base
from ferjax.faces import geometry
from ferjax.faces import scales
from ferjax.faces.geometry import Detection

CELL = 80              # Input side of one followed face's window in the mosaic ...
CONTEXT = 4            # ... this many face sides wide (the face at 20 px) ...
GAP = 16               # ... with this much black between windows (cell + gap: 3 strides).
SWEEP_TILE_SIDE = 512  # Longer side (input pixels) of one sweep tile ...
SWEEP_EVERY = 2        # ... one tile every this many rounds.
MEMORY_ROUNDS = 30     # A face unseen for this many rounds is no longer followed ...
FLICKER_ROUNDS = 3     # ... one found in fewer than SETTLED rounds (a flicker: a bag's
SETTLED = 3            # box, a second box on a face) after this many.
MAX_FACES = 100        # Followed at most; past this the full plan runs.
WORTH = 0.7            # Follow faces only when it costs under this share of the full plan.
MATCH_IOU = 0.3        # A detection continues a followed face from this overlap.
RECENTRE = 0.25        # A window moves once its face moved this many face sides, or its
                       # side changed by this share: a still face keeps one crop.


@dataclasses.dataclass
class _Followed:
  """A face followed: its last box, when it was last found, its window's anchor."""
  box: np.ndarray
  last_round: int
  anchor: np.ndarray  # The box its window is centred on (moves with `RECENTRE`).
  rounds_seen: int = 1


class SceneScaledDetector(base.FaceDetector):
  """Wraps a CenterFace: windows around the faces followed plus a full-scale sweep."""

  def __init__(self, detector, cell: int = CELL, context: float = CONTEXT, gap: int = GAP,
               sweep_tile_side: int = SWEEP_TILE_SIDE, sweep_every: int = SWEEP_EVERY,
               memory_rounds: int = MEMORY_ROUNDS, flicker_rounds: int = FLICKER_ROUNDS):
    if not context >= 1.5:
      raise ValueError(f"context must be >= 1.5 face sides, got {context!r}")
    if cell < 32 or gap < 0:
      raise ValueError(f"cell must be >= 32 px and gap >= 0, got {cell!r} and {gap!r}")
    if sweep_every < 1:
      raise ValueError(f"sweep_every must be >= 1 round, got {sweep_every!r}")
    self.detector = detector
    self.name = detector.name
    self.cell = cell
    self.context = context
    self.gap = gap
    self.sweep_tile_side = sweep_tile_side
    self.sweep_every = sweep_every
    self.memory_rounds = memory_rounds
    self.flicker_rounds = flicker_rounds
    self._shape: tuple[int, int] | None = None
    self.reset()

  @property
  def min_face(self) -> float:
    """The smallest face the full scale (and the sweep) finds, as asked (frame pixels)."""
    return self.detector.min_face

  @min_face.setter
  def min_face(self, value: float) -> None:
    self.detector.min_face = value
    self.reset()

  def reset(self) -> None:
    """Forget the scene: the next round runs the full plan."""
    self._faces: list[_Followed] = []
    self._skipped = np.zeros((0, 4))
    self._round = 0
    self._step = 0

  def skip(self, boxes: np.ndarray) -> None:
    """Faces at `boxes` (x0, y0, x1, y1) need not be followed: pictures, which never
    move. Replaces the last call's boxes; may be called while a round runs in another
    thread (it takes effect from the next round)."""
    self._skipped = np.asarray(boxes, np.float64).reshape(-1, 4)

  def windows(self) -> list[tuple[float, float, float]]:
    """(x, y, side) squares of the frame around the faces followed, as the next round uses."""
    return [window_around(face.anchor, self.context, self.cell) for face in self._faces]

  def sweep_plan(self, frame_shape: tuple[int, ...]) -> scales.DetectionPlan:
    """The full scale cut into sweep tiles."""
    return self.detector.plan(frame_shape, max_tile_side=self.sweep_tile_side)

  def sweep_rounds(self, frame_shape: tuple[int, ...]) -> int:
    """Rounds one sweep takes (its tiles and the coarse pass): how late a new face is found."""
    return (self.sweep_plan(frame_shape).tiles + 1) * self.sweep_every

  def _focused_pixels(self, frame_shape: tuple[int, ...], faces: int) -> int:
    """Input pixels of a round that follows `faces` faces: the mosaic and a sweep step
    (counted in every round, as the `WORTH` rule was measured)."""
    cols = math.ceil(math.sqrt(faces)) if faces else 0
    rows = math.ceil(faces / cols) if faces else 0
    pitch = self.cell + self.gap
    tile_w, tile_h = self.sweep_plan(frame_shape).tile_size
    return (scales.round_up(rows * pitch) * scales.round_up(cols * pitch)
            + tile_w * tile_h)

  def _follows(self, frame_shape: tuple[int, ...]) -> bool:
    """Whether this round follows the faces (else: the full plan)."""
    if self._round == 0 or len(self._faces) > MAX_FACES:
      return False
    full = self.detector.plan(frame_shape).input_pixels
    return self._focused_pixels(frame_shape, len(self._faces)) < WORTH * full

  def describe(self, frame_shape: tuple[int, ...]) -> str:
    """One line: what the next round runs."""
    if not self._follows(frame_shape):
      return f"full scale every round: {self.detector.plan(frame_shape).describe()}"
    sweep = self.sweep_plan(frame_shape)
    every = "round" if self.sweep_every == 1 else f"{self.sweep_every} rounds"
    return (f"{len(self._faces)} faces followed in {self.cell}-px windows (one call); "
            f"sweep of {sweep.tiles} tiles at x{sweep.scale:.3f} (faces >= "
            f"{sweep.min_face:.0f} px) + a coarse pass, one step every {every}")

  def detect(self, frame_bgr: np.ndarray) -> list[Detection]:
    shape = tuple(frame_bgr.shape[:2])
    if shape != self._shape:  # A new frame size: a new scene.
      self._shape = shape
      self.reset()
    self._faces = self._unskipped(self._faces)
    if self._follows(shape):
      sweep = self.sweep_plan(shape)
      step = None  # This round looks at the followed faces only.
      if self._round % self.sweep_every == 0:
        step = self._step % (sweep.tiles + 1)
        self._step = step + 1
      detections = self.detector.detect_focused(frame_bgr, self.windows(), self.cell, sweep,
                                                 step, self.gap)
    else:
      detections = self.detector.detect(frame_bgr)
    self._observe(detections)
    return detections

  def _observe(self, detections: list[Detection]) -> None:
    """Followed faces take their new boxes; new faces are followed; old ones dropped."""
    self._round += 1
    boxes = np.array([d.box for d in detections], np.float64).reshape(-1, 4)
    faces, followed = self._faces, len(self._faces)
    overlap = (geometry.iou(boxes, np.stack([face.box for face in faces]))
               if followed and len(boxes) else np.zeros((len(boxes), followed)))
    best = overlap.max(axis=1) if followed else np.zeros(len(boxes))
    taken = set()
    for i in np.argsort(-best, kind="stable"):  # Best overlaps first.
      j = int(np.argmax(overlap[i])) if followed else -1
      if j >= 0 and overlap[i, j] >= MATCH_IOU and j not in taken:
        face = faces[j]
        face.box, face.last_round = boxes[i], self._round
        face.rounds_seen += 1
        if _moved(boxes[i], face.anchor):
          face.anchor = boxes[i]
        taken.add(j)
      else:
        faces.append(_Followed(boxes[i], self._round, boxes[i]))
    self._faces = [face for face in faces
                   if self._round - face.last_round < self._memory(face.rounds_seen)]

  def _unskipped(self, faces: list[_Followed]) -> list[_Followed]:
    """`faces` but those at a box of `skip` (dropped before each round's windows)."""
    skipped = self._skipped
    if not len(skipped) or not faces:
      return faces
    overlap = geometry.iou(np.stack([face.box for face in faces]), skipped)
    return [face for face, o in zip(faces, overlap.max(axis=1)) if o < MATCH_IOU]

  def _memory(self, seen: int) -> int:
    """Rounds a face found in `seen` rounds is followed unseen: a flicker (a bag's or a
    hand's box, a second box on a face) briefly, a face found again and again long."""
    return self.memory_rounds if seen >= SETTLED else min(self.flicker_rounds,
                                                           self.memory_rounds)


def window_around(box: np.ndarray, context: float, cell: int) -> tuple[float, float, float]:
  """(x, y, side) square centred on `box`, `context` face sides wide (at least what a
  `cell`-px window may upscale)."""
  side = max(float(geometry.box_side(box)) * context, cell / scales.MAX_UPSCALE)
  cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
  return cx - side / 2, cy - side / 2, side


def _moved(box: np.ndarray, anchor: np.ndarray) -> bool:
  """Whether `box` lies `RECENTRE` face sides from `anchor`, or its side changed that much."""
  side, anchor_side = geometry.box_side(box), geometry.box_side(anchor)
  shift = np.hypot(*((box[:2] + box[2:]) / 2 - (anchor[:2] + anchor[2:]) / 2))
  return bool(shift > RECENTRE * anchor_side or abs(side / anchor_side - 1) > RECENTRE)
