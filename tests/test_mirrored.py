"""Photos seen as they are and mirrored: the two views' detections fused."""

import numpy as np
import pytest

from ferjax import faces
from ferjax.faces import mirrored
from ferjax.faces.geometry import Detection
from ferjax.live import pipeline, sources

EYES_NOSE_MOUTH = np.array([[15, 25], [25, 29], [20, 32], [16, 36], [24, 37]], np.float32)


def test_mirror_maps_the_box_back_and_keeps_left_and_right():
  found = Detection((10.0, 20.0, 30.0, 40.0), 0.9, EYES_NOSE_MOUTH, "centerface")
  back = mirrored.mirror(found, width=100)
  assert back.box == (70.0, 20.0, 90.0, 40.0)
  # The eye on the left of the picture comes first again; the tilt is mirrored.
  assert back.landmarks[0, 0] < back.landmarks[1, 0]
  np.testing.assert_allclose(back.landmarks[0], [75, 29])
  np.testing.assert_allclose(back.landmarks[3], [76, 37])  # Mouth corners swap too.
  assert faces.eye_roll(back) == pytest.approx(-faces.eye_roll(found))
  assert mirrored.mirror(Detection((0, 0, 5, 5), 0.5), 10).landmarks is None


def test_a_face_of_both_views_gets_the_mean_score_and_a_box_between():
  direct = [Detection((10.0, 10.0, 30.0, 30.0), 0.8, EYES_NOSE_MOUTH, "centerface")]
  flipped = [Detection((12.0, 10.0, 32.0, 30.0), 0.4, None, "centerface")]
  (face,) = mirrored.fuse(direct, flipped)
  assert face.score == pytest.approx(0.6)
  assert face.box[0] == pytest.approx((10 * 0.8 + 12 * 0.4) / 1.2)
  assert face.landmarks is EYES_NOSE_MOUTH  # The direct view's landmarks.


def test_a_box_of_one_view_only_keeps_half_its_score():
  direct = [Detection((10.0, 10.0, 30.0, 30.0), 0.8), Detection((60.0, 10.0, 80.0, 30.0), 0.6)]
  flipped = [Detection((11.0, 10.0, 31.0, 30.0), 0.8), Detection((10.0, 60.0, 30.0, 80.0), 0.5)]
  fused = mirrored.fuse(direct, flipped)
  assert [round(d.score, 3) for d in fused] == [0.8, 0.3, 0.25]
  assert fused[1].box == (60.0, 10.0, 80.0, 30.0) and fused[2].box == (10.0, 60.0, 30.0, 80.0)
  assert mirrored.fuse([], []) == []
  assert [d.score for d in mirrored.fuse([], flipped[:1])] == [0.4]


class _TwoViews(faces.FaceDetector):
  """Finds one face in every view and a bag's box in the first view only."""
  name = "fake"
  min_face = 14.0
  iou_threshold = 0.3

  def __init__(self):
    self.calls = []

  def detect(self, frame_bgr):
    self.calls.append(frame_bgr.copy())
    face = Detection((10.0, 10.0, 30.0, 30.0), 0.7)
    if len(self.calls) % 2:
      return [face, Detection((60.0, 50.0, 90.0, 70.0), 0.6)]
    return [Detection((100 - 30.0, 10.0, 100 - 10.0, 30.0), 0.5)]  # The face, mirrored.


def test_the_mirrored_detector_sees_the_frame_flipped_and_fuses_both_views():
  inner = _TwoViews()
  detector = mirrored.MirroredDetector(inner)
  frame = np.zeros((80, 100, 3), np.uint8)
  frame[:, :10] = 255
  found = detector.detect(frame)
  assert np.array_equal(inner.calls[1], frame[:, ::-1])
  assert [(d.box, round(d.score, 3)) for d in found] == [
      ((10.0, 10.0, 30.0, 30.0), 0.6), ((60.0, 50.0, 90.0, 70.0), 0.3)]
  detector.min_face = 20.0
  assert inner.min_face == 20.0 and detector.name == "fake"


def test_photo_detection_finds_the_demo_faces_in_both_views():
  try:
    detector = pipeline.create_detector(score_threshold=pipeline.PHOTO_THRESHOLD, mirror=True)
  except faces.DetectorUnavailable:
    pytest.skip("centerface weights not installed")
  assert isinstance(detector, mirrored.MirroredDetector)
  assert detector.detector.floor == mirrored.FLOOR
  assert detector.detector.score_threshold == pipeline.PHOTO_THRESHOLD  # Sets the scale.
  image = next(iter(sources.DemoSource(seconds=0.2))).image
  plain = [d for d in pipeline.create_detector(score_threshold=pipeline.PHOTO_THRESHOLD
                                               ).detect(image)]
  both = [d for d in detector.detect(image) if d.score >= pipeline.PHOTO_THRESHOLD]
  assert len(plain) >= 7 and len(both) == len(plain)
  matched = faces.iou(np.array([d.box for d in plain]), np.array([d.box for d in both]))
  assert (matched.max(axis=1) > 0.8).all()  # The same faces, boxes nearly the same.


def test_below_the_threshold_the_floor_returns_one_box_per_heatmap_peak():
  try:
    detector = faces.CenterFace(score_threshold=0.5, floor=0.1)
  except faces.DetectorUnavailable:
    pytest.skip("centerface weights not installed")
  heat = np.zeros((1, 12, 12), np.float32)
  heat[0, 1:4, 1:4] = 0.6   # A face: every cell above the threshold is kept ...
  heat[0, 2, 2] = 0.8
  heat[0, 7:10, 7:10] = 0.2  # ... a faint blob: its peak only.
  heat[0, 8, 8] = 0.3
  zeros = lambda n: np.zeros((n, 12, 12), np.float32)
  _, scores, _ = detector._decode(heat, zeros(2), zeros(2), zeros(10))
  assert sorted(np.round(scores, 2)) == [0.3] + [0.6] * 8 + [0.8]
  detector.floor = None
  assert len(detector._decode(heat, zeros(2), zeros(2), zeros(10))[1]) == 9
