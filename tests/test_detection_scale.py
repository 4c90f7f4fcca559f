"""Detection scale plans, tiling and the tile merge (ferjax.faces.scales, CenterFace)."""

import cv2
import numpy as np
import pytest

from ferjax import faces
from ferjax.faces import geometry
from ferjax.faces import scales


def _centerface(**kwargs) -> faces.CenterFace:
  try:
    return faces.CenterFace(**kwargs)
  except faces.DetectorUnavailable:
    pytest.skip("centerface weights not installed")


# Plans (no network).

def test_small_min_face_upscales_the_input():
  plan = scales.plan_detection((480, 640), min_face=10, reliable_px=20)
  assert plan.scale == pytest.approx(2.0)
  assert plan.input_size == (1280, 960) and plan.tiles == 1 and not plan.tiled
  assert plan.tile_size == (1280, 960) and plan.min_face == pytest.approx(10)
  assert scales.plan_detection((480, 640), min_face=20, reliable_px=20).scale == 1.0


def test_large_min_face_downscales_the_input():
  plan = scales.plan_detection((2256, 4000), min_face=200, reliable_px=20)
  assert plan.scale == pytest.approx(0.1) and plan.input_size == (400, 226)
  assert plan.tile_size == (416, 256) and plan.tiles == 1


def test_threshold_sets_the_reliable_size():
  assert scales.reliable_face_px(0.3) < scales.reliable_face_px(0.5)
  assert scales.reliable_face_px(0.45, margin=1) == pytest.approx(
      (scales.RELIABLE_FACE_PX[0.4] + scales.RELIABLE_FACE_PX[0.5]) / 2)
  assert scales.reliable_face_px(0.5) == pytest.approx(
      scales.MARGIN * scales.RELIABLE_FACE_PX[0.5])
  detector = _centerface(score_threshold=0.3, min_face=14)
  assert detector.plan((480, 640)).scale == pytest.approx(
      scales.MARGIN * scales.RELIABLE_FACE_PX[0.3] / 14)


def test_huge_frame_is_tiled_within_the_budget():
  plan = scales.plan_detection((2256, 4000), min_face=14, reliable_px=20,
                               max_pixels=2_500_000, max_tile_side=1280)
  w, h = plan.input_size
  assert plan.tiled and plan.tiles >= 2 and plan.batch == plan.tiles + 1
  assert w * h <= 2_500_000 and plan.min_face > 14  # The cap costs the smallest faces.
  assert plan.coarse_scale < plan.scale and max(plan.coarse_size) == scales.COARSE_SIDE
  tw, th = plan.tile_size
  assert tw % 32 == 0 and th % 32 == 0 and max(tw, th) <= 1280
  covered = np.zeros((h, w), bool)
  for x0, y0, x1, y1 in plan.windows:
    assert x0 % 32 == 0 and y0 % 32 == 0 and x1 - x0 <= tw and y1 - y0 <= th
    covered[y0:y1, x0:x1] = True
  assert covered.all()
  xs = sorted({(x0, x1) for x0, _, x1, _ in plan.windows})
  assert all(a[1] - b[0] >= plan.overlap for a, b in zip(xs, xs[1:]))
  assert "tiles" in plan.describe()


def test_no_tiles_when_the_coarse_pass_covers_the_frame():
  plan = scales.plan_detection((300, 600), min_face=20, reliable_px=20, max_tile_side=256)
  assert plan.tiles == 1 and not plan.tiled and plan.input_size == (600, 300)


def test_absurd_frames_are_capped():
  plan = scales.plan_detection((20000, 30000), min_face=14, reliable_px=20,
                               max_pixels=2_500_000)
  assert plan.input_size[0] * plan.input_size[1] <= 2_500_000
  assert plan.input_pixels < 2 * 2_500_000
  tiny = scales.plan_detection((8, 8), min_face=14, reliable_px=20)
  assert min(tiny.tile_size) >= 32


def test_max_side_overrides_the_plan():
  plan = scales.plan_detection((2256, 4000), min_face=14,
                               reliable_px=scales.reliable_face_px(0.5), max_side=640)
  assert plan.input_size == (640, 361) and plan.tile_size == (640, 384)
  assert plan.tiles == 1 and not plan.tiled
  detector = _centerface(max_side=640)
  assert detector.plan((2256, 4000)) == plan
  assert detector.plan((480, 640)).input_size == (640, 480)
  assert _centerface().plan((480, 640)).scale > 1  # Default: follows min_face.


@pytest.mark.parametrize("kwargs, pattern", [
    ({"min_face": 0}, "min_face"),
    ({"min_face": -3}, "min_face"),
    ({"max_pixels": 0}, "max_pixels"),
    ({"max_side": 0}, "max_side"),
    ({"max_tile_side": 10}, "max_tile_side"),
    ({"score_threshold": 1.5}, "score_threshold"),
    ({"iou_threshold": 0}, "iou_threshold"),
])
def test_bad_arguments_are_one_line_errors(kwargs, pattern):
  try:
    faces.CenterFace(**kwargs)
  except faces.DetectorUnavailable:
    pytest.skip("centerface weights not installed")
  except ValueError as e:
    assert pattern in str(e) and "\n" not in str(e)
  else:
    pytest.fail(f"no ValueError for {kwargs}")


def test_bad_plan_arguments():
  with pytest.raises(ValueError, match="min_face"):
    scales.plan_detection((480, 640), min_face=0)
  with pytest.raises(ValueError, match="empty frame"):
    scales.plan_detection((0, 640))
  with pytest.raises(ValueError, match="score_threshold"):
    scales.reliable_face_px(0)


# The merge.

def test_crosses_edges_only_counts_shared_edges():
  boxes = np.array([[0, 10, 20, 30], [80, 10, 100, 30], [40, 40, 60, 60]], float)
  # A window at the left of a 300-wide area: its right edge (x = 100) is shared.
  np.testing.assert_array_equal(geometry.crosses_edges(boxes, (0, 0, 100, 100), (300, 100)),
                                [False, True, False])
  # The middle window: both side edges are shared.
  np.testing.assert_array_equal(
      geometry.crosses_edges(boxes, (100, 0, 200, 100), (300, 100)), [True, True, False])


def test_merge_keeps_the_whole_face_over_a_cut_part():
  boxes = np.array([[0, 0, 100, 100],      # whole face, from the tile that holds it
                    [50, 0, 100, 100],     # its right half, cut by another tile's edge
                    [2, 1, 101, 99],       # the same face again (another tile)
                    [120, 0, 200, 90]])    # a neighbour
  scores = np.array([0.6, 0.9, 0.55, 0.7])
  cut = np.array([False, True, False, False])
  keep = geometry.merge_nms(boxes, scores, cut, iou_threshold=0.3)
  assert sorted(keep.tolist()) == [0, 3]
  # A cut face that no tile holds whole is still kept.
  assert geometry.merge_nms(boxes[1:2], scores[1:2], cut[1:2], 0.3).tolist() == [0]


# Detection on frames built from real FER2013 faces.

@pytest.fixture(scope="module")
def findable_faces(fer2013_test_faces):
  """FER2013 test faces CenterFace finds alone at 96 px on grey."""
  detector = _centerface(max_side=320)
  picked = []
  for face in fer2013_test_faces[0][:60]:
    image, _ = _canvas((320, 240), [(face, 112, 72, 96)])
    if len(detector.detect(image)) == 1:
      picked.append(face)
    if len(picked) == 4:
      return picked
  pytest.skip("too few FER2013 faces found alone")


def _canvas(size, placements):
  """Grey BGR canvas with (face, x, y, side) pasted; returns it and the true boxes."""
  w, h = size
  canvas = np.full((h, w), 128, np.uint8)
  boxes = []
  for face, x, y, side in placements:
    canvas[y:y + side, x:x + side] = cv2.resize(face, (side, side),
                                                interpolation=cv2.INTER_CUBIC)
    boxes.append((x, y, x + side, y + side))
  return cv2.cvtColor(canvas, cv2.COLOR_GRAY2BGR), boxes


def _matches(box, detections):
  cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
  return [d for d in detections if d.box[0] <= cx <= d.box[2] and d.box[1] <= cy <= d.box[3]]


def test_faces_on_tile_edges_are_found_once_in_frame_coordinates(findable_faces):
  detector = _centerface(min_face=scales.reliable_face_px(0.5), max_pixels=2_000_000,
                           max_tile_side=640)
  shape = (900, 1800)
  plan = detector.plan(shape)
  assert plan.scale == pytest.approx(1.0) and plan.tiles >= 4
  first = plan.windows[0]
  side = 96
  placements = [
      (findable_faces[0], first[2] - side // 2, 100, side),    # across a vertical edge
      (findable_faces[1], 200, first[3] - side // 2, side),    # across a horizontal edge
      (findable_faces[2], first[2] - side // 2, first[3] - side // 2, side),  # a corner
      (findable_faces[3], 1500, 150, side),                    # inside one tile
  ]
  image, boxes = _canvas((shape[1], shape[0]), placements)
  tiled = detector.detect(image)
  assert len(tiled) == len(boxes)
  single = _centerface(max_side=1800).detect(image)  # Same scale, no tiles.
  for box in boxes:
    found = _matches(box, tiled)
    assert len(found) == 1
    reference = _matches(box, single)
    assert len(reference) == 1
    assert faces.iou(found[0].box, reference[0].box)[0, 0] > 0.8
    np.testing.assert_allclose(found[0].landmarks, reference[0].landmarks, atol=6)


def test_face_larger_than_a_tile_is_found(findable_faces):
  detector = _centerface(min_face=scales.reliable_face_px(0.5), max_pixels=2_000_000,
                           max_tile_side=640)
  shape = (900, 1800)
  tw, th = detector.plan(shape).tile_size
  side = 760
  assert side > max(tw, th)
  image, boxes = _canvas((shape[1], shape[0]), [(findable_faces[0], 500, 70, side)])
  detections = detector.detect(image)
  assert len(detections) == 1
  d = detections[0]
  assert len(_matches(boxes[0], detections)) == 1
  assert 0.6 * side < d.width < 1.3 * side


def test_low_threshold_returns_scores_to_split(findable_faces):
  detector = _centerface(score_threshold=0.2)
  image, boxes = _canvas((640, 480), [(f, 40 + 150 * i, 190, 64)
                                      for i, f in enumerate(findable_faces)])
  detections = detector.detect(image)
  scores = [d.score for d in detections]
  assert scores == sorted(scores, reverse=True) and min(scores) >= 0.2
  for box in boxes:
    assert _matches(box, detections)


def test_followed_windows_and_a_sweep_tile_find_faces_where_the_whole_frame_does(
    findable_faces):
  """`detect_focused`: windows packed in a mosaic and a tile map their boxes back."""
  detector = _centerface(min_face=scales.reliable_face_px(0.5), max_pixels=2_000_000,
                         score_threshold=0.25)  # The live tool's lowest score.
  shape = (900, 1800)
  sweep = detector.plan(shape, max_tile_side=512)
  assert sweep.tiles >= 4
  x0, y0, _, _ = (v / sweep.scale for v in sweep.windows[-1])
  placements = [(findable_faces[0], int(x0) + 120, int(y0) + 100, 40),  # the last tile
                (findable_faces[1], 100, 100, 96), (findable_faces[2], 700, 400, 60),
                (findable_faces[3], 1200, 200, 140)]
  image, boxes = _canvas((shape[1], shape[0]), placements)
  reference = detector.detect(image)
  assert len(reference) == 4
  followed = [d for d in reference if d not in _matches(boxes[0], reference)]
  assert len(followed) == 3
  windows = []
  for d in followed:  # Four face sides wide, off-centre.
    side = 3 * d.width
    windows.append((d.box[0] - d.width * 0.8, d.box[1] - d.height, side))
  # The mosaic finds the followed faces, the last tile the other one.
  found = detector.detect_focused(image, windows, 96, sweep, sweep.tiles - 1, 32)
  assert len(found) == 4
  for box in boxes:
    (mine,) = _matches(box, found)
    (theirs,) = _matches(box, reference)
    assert faces.iou(mine.box, theirs.box)[0, 0] > 0.7
    np.testing.assert_allclose(mine.landmarks, theirs.landmarks, atol=0.15 * theirs.width)
  # The coarse step instead of the tile: the small face is not found, the rest are.
  coarse = detector.detect_focused(image, windows, 96, sweep, sweep.tiles, 32)
  assert not _matches(boxes[0], coarse) and len(coarse) == 3


def test_a_followed_face_keeps_its_window_box_when_the_sweep_finds_it_too(monkeypatch):
  """The sweep's tile sees the face at another crop and scale: its box, a little off,
  would make a still face seem to move every few rounds."""
  detector = _centerface()
  window_box = np.array([[100.0, 100.0, 130.0, 130.0]])
  tile_box = np.array([[102.0, 97.0, 133.0, 128.0], [400.0, 300.0, 430.0, 330.0]])
  part = lambda boxes, score: (boxes, np.full(len(boxes), score), np.zeros((len(boxes), 10)),
                               np.zeros(len(boxes), bool))
  monkeypatch.setattr(detector, "_detect_mosaic", lambda *a, **k: part(window_box, 0.8))
  monkeypatch.setattr(detector, "_detect_tile", lambda *a, **k: part(tile_box, 0.95))
  frame = np.zeros((720, 1280, 3), np.uint8)
  sweep = scales.plan_detection(frame.shape, min_face=14, reliable_px=20, max_tile_side=512)
  found = detector.detect_focused(frame, [(55.0, 55.0, 120.0)], 80, sweep, step=0)
  boxes = sorted(tuple(d.box) for d in found)
  assert boxes == [(100.0, 100.0, 130.0, 130.0), (400.0, 300.0, 430.0, 330.0)]
