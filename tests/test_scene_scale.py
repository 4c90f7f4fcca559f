"""Scene-scaled detection (ferjax.faces.scene_scale): follow the faces, sweep for new ones."""

import math

import numpy as np
import pytest

from ferjax.faces import scales
from ferjax.faces.geometry import Detection
from ferjax.faces.scene_scale import (CONTEXT, FLICKER_ROUNDS, MEMORY_ROUNDS, SETTLED,
                                      SceneScaledDetector)

RELIABLE = scales.reliable_face_px(0.25)


def _side(box) -> float:
  return math.sqrt((box[2] - box[0]) * (box[3] - box[1]))


def _centre_in(box, x0, y0, x1, y1) -> bool:
  cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
  return x0 <= cx < x1 and y0 <= cy < y1


class _SceneDetector:
  """A CenterFace stand-in over a known scene: the full plan finds every face of at least
  its min_face; a focused round the faces inside a window, the sweep tile's faces of at
  least the sweep's min_face, or (last step) the faces the coarse pass finds."""

  name = "centerface"
  score_threshold = 0.25

  def __init__(self, boxes, min_face=14.0):
    self.boxes = list(boxes)
    self.min_face = min_face
    self.calls = []  # ("full",) or ("focused", windows, step)

  def plan(self, frame_shape, max_tile_side=None):
    return scales.plan_detection(frame_shape, min_face=self.min_face,
                                 reliable_px=RELIABLE,
                                 max_tile_side=max_tile_side or scales.DEFAULT_MAX_TILE_SIDE)

  def _found(self, keep):
    return [Detection(tuple(map(float, b)), 0.9, None, self.name) for b in self.boxes
            if keep(b)]

  def detect(self, frame):
    self.calls.append(("full",))
    smallest = self.plan(frame.shape).min_face
    return self._found(lambda b: _side(b) >= smallest * 0.999)

  def detect_focused(self, frame, windows, cell, sweep, step, gap):
    self.calls.append(("focused", list(windows), step))
    def keep(b):
      if any(_centre_in(b, x, y, x + side, y + side) for x, y, side in windows):
        return True
      if step is None:  # No sweep step this round.
        return False
      if step < sweep.tiles:
        x0, y0, x1, y1 = (v / sweep.scale for v in sweep.windows[step])
        return _centre_in(b, x0, y0, x1, y1) and _side(b) >= sweep.min_face * 0.999
      return _side(b) >= RELIABLE * max(frame.shape) / scales.COARSE_SIDE
    return self._found(keep)


HD = np.zeros((1080, 1920, 3), np.uint8)
LARGE_FACES = [(100, 100, 160, 160), (900, 500, 980, 580), (1500, 300, 1570, 370)]


def test_first_round_is_full_then_only_the_faces_and_a_sweep_step_are_looked_at():
  inner = _SceneDetector(LARGE_FACES)
  detector = SceneScaledDetector(inner, sweep_every=1)
  assert len(detector.detect(HD)) == 3
  assert inner.calls == [("full",)]
  assert len(detector.detect(HD)) == 3
  kind, windows, step = inner.calls[-1]
  assert kind == "focused" and step == 0 and len(windows) == 3
  for (x, y, side), box in zip(windows, LARGE_FACES):  # Centred, CONTEXT face sides wide.
    assert side == pytest.approx(CONTEXT * _side(box))
    assert x + side / 2 == pytest.approx((box[0] + box[2]) / 2)
  followed = detector._focused_pixels(HD.shape, 3)
  assert followed < inner.plan(HD.shape).input_pixels / 5  # The point.
  assert "3 faces followed" in detector.describe(HD.shape)


def test_a_face_that_moves_is_followed():
  inner = _SceneDetector([(900, 500, 960, 560)])
  detector = SceneScaledDetector(inner)
  for k in range(20):  # 20 px a round: a third of the face's side.
    inner.boxes = [(900 + 20 * k, 500, 960 + 20 * k, 560)]
    assert len(detector.detect(HD)) == 1, k
  assert inner.calls.count(("full",)) == 1


def test_a_still_face_keeps_its_window_while_its_box_jitters():
  """Re-centred on each jittered box, the crop would shift and the box with it."""
  inner = _SceneDetector([(900, 500, 960, 560)])
  detector = SceneScaledDetector(inner)
  rng = np.random.default_rng(0)
  windows = []
  for _ in range(10):
    dx, dy, grow = rng.uniform(-3, 3, 3)  # 5% of the side: a detector's jitter.
    inner.boxes = [(900 + dx, 500 + dy, 960 + dx + grow, 560 + dy + grow)]
    detector.detect(HD)
    windows.append(detector.windows()[0])
  assert len(set(windows)) == 1
  inner.boxes = [(930, 500, 990, 560)]  # Half a face side: the window follows.
  detector.detect(HD)
  assert detector.windows()[0][0] == pytest.approx(960 - CONTEXT * 60 / 2)


def test_the_sweep_finds_a_new_small_face_within_one_sweep_then_follows_it():
  inner = _SceneDetector(LARGE_FACES)
  detector = SceneScaledDetector(inner)
  for _ in range(3):
    detector.detect(HD)
  small = (1800.0, 1000.0, 1818.0, 1018.0)  # 18 px, far from every followed face.
  inner.boxes.append(small)
  rounds = detector.sweep_rounds(HD.shape)
  assert rounds > 2
  found_after = next(n for n in range(1, rounds + 1)
                     if any(d.box == small for d in detector.detect(HD)))
  assert found_after <= rounds
  for _ in range(4):  # From then on it is followed: found every round.
    assert any(d.box == small for d in detector.detect(HD))
  assert len(inner.calls[-1][1]) == 4


def test_the_sweep_takes_a_step_every_sweep_every_rounds():
  inner = _SceneDetector(LARGE_FACES)
  detector = SceneScaledDetector(inner, sweep_every=2)
  for _ in range(7):
    detector.detect(HD)
  assert [c[2] for c in inner.calls[1:]] == [None, 0, None, 1, None, 2]
  assert detector.sweep_rounds(HD.shape) == 2 * SceneScaledDetector(
      inner, sweep_every=1).sweep_rounds(HD.shape)
  with pytest.raises(ValueError, match="sweep_every"):
    SceneScaledDetector(inner, sweep_every=0)


def test_a_flicker_is_followed_briefly_a_face_found_again_and_again_long():
  inner = _SceneDetector(LARGE_FACES)
  detector = SceneScaledDetector(inner)
  for _ in range(SETTLED):
    detector.detect(HD)
  flicker = (1000.0, 600.0, 1040.0, 640.0)  # A bag's box in a face's window, found once.
  inner.boxes = LARGE_FACES + [flicker]
  detector.detect(HD)
  assert len(detector.windows()) == 4
  inner.boxes = []  # Nothing found: the settled faces stay followed, the flicker not.
  for _ in range(FLICKER_ROUNDS):
    detector.detect(HD)
  assert len(detector.windows()) == 3
  for _ in range(MEMORY_ROUNDS - FLICKER_ROUNDS - 1):
    detector.detect(HD)
  assert len(detector.windows()) == 3
  detector.detect(HD)
  assert detector.windows() == []


def test_skipped_faces_are_not_followed_until_they_are_no_longer_skipped():
  inner = _SceneDetector(LARGE_FACES)
  detector = SceneScaledDetector(inner, sweep_every=1)
  detector.detect(HD)
  picture = LARGE_FACES[1]
  detector.skip(np.array([picture]) + 2)  # A picture's box, as the tracker holds it.
  found = 0
  for _ in range(detector.sweep_rounds(HD.shape) + 1):
    found += any(d.box == picture for d in detector.detect(HD))  # The sweep finds it ...
    assert len(inner.calls[-1][1]) == 2  # ... but it gets no window.
  assert found >= 1
  detector.skip(np.zeros((0, 4)))
  for _ in range(detector.sweep_rounds(HD.shape) + 1):
    detector.detect(HD)
  assert len(inner.calls[-1][1]) == 3


def test_a_face_gone_for_the_memory_is_no_longer_followed():
  inner = _SceneDetector(LARGE_FACES)
  detector = SceneScaledDetector(inner)
  detector.detect(HD)
  inner.boxes = LARGE_FACES[:2]
  for _ in range(MEMORY_ROUNDS + 1):
    detector.detect(HD)
  assert len(detector.windows()) == 2


def test_many_small_faces_in_a_small_frame_run_the_full_plan_every_round():
  rows = [(40 + 60 * i, 60 + 50 * j, 54 + 60 * i, 74 + 50 * j) for i in range(10)
          for j in range(3)]  # 30 faces of 14 px in 640x480: the synthetic lesson's case.
  inner = _SceneDetector(rows)
  detector = SceneScaledDetector(inner)
  frame = np.zeros((480, 640, 3), np.uint8)
  for _ in range(5):
    assert len(detector.detect(frame)) == 30
  assert inner.calls == [("full",)] * 5  # As without scene scaling.
  assert detector.describe(frame.shape).startswith("full scale every round")


def test_an_empty_room_is_swept_and_a_new_frame_size_or_min_face_starts_over():
  inner = _SceneDetector([])
  detector = SceneScaledDetector(inner)
  for _ in range(3):
    assert detector.detect(HD) == []
  assert [c[0] for c in inner.calls] == ["full", "focused", "focused"]
  detector.detect(np.zeros((720, 1280, 3), np.uint8))
  assert inner.calls[-1] == ("full",)
  detector.min_face = 20
  assert inner.min_face == 20 and detector._round == 0
  with pytest.raises(ValueError, match="context"):
    SceneScaledDetector(inner, context=1.0)
