"""Face and non-face patches from WIDER photos: what is mined, what is kept out, splits."""

import numpy as np

from ferjax.data import fer2013
from ferjax.data import nonface
from ferjax.data.wider_face import ImageFaces
from ferjax.faces.geometry import Detection


def _truth(boxes, invalid):
  n = len(boxes)
  zeros = np.zeros(n, np.int64)
  return ImageFaces("12--Group/a.jpg", "12--Group", np.asarray(boxes, np.float64), zeros,
                    zeros, zeros, np.asarray(invalid, bool), zeros, zeros)


class _Detector:
  def __init__(self, detections):
    self.detections = detections

  def detect(self, image):
    del image
    return list(self.detections)


def test_the_measurement_events_are_the_test_split_and_the_rest_is_fixed():
  assert nonface.photo_split("11--Meeting/x.jpg", "11--Meeting") == "test"
  assert nonface.photo_split("29--Students_Schoolkids/y.jpg", "29--Students_Schoolkids") == "test"
  names = [f"12--Group/{i}.jpg" for i in range(2000)]
  splits = [nonface.photo_split(n, "12--Group") for n in names]
  assert splits == [nonface.photo_split(n, "12--Group") for n in names]  # By name only.
  assert set(splits) == {"train", "validation"}
  assert 0.07 < splits.count("validation") / len(splits) < 0.13


def test_patches_mine_false_positives_and_keep_away_from_every_face():
  rng = np.random.default_rng(0)
  image = rng.integers(0, 256, (300, 400, 3), np.uint8)
  face, hidden = (100.0, 100.0, 140.0, 140.0), (300.0, 40.0, 330.0, 70.0)
  truth = _truth([face, hidden], [False, True])
  detections = [
      Detection((102.0, 101.0, 141.0, 142.0), 0.95, None, "centerface"),  # The face.
      Detection((20.0, 220.0, 60.0, 260.0), 0.3, None, "centerface"),    # A bag: mined.
      Detection((120.0, 110.0, 165.0, 150.0), 0.4, None, "centerface"),  # On the face.
      Detection((305.0, 45.0, 330.0, 70.0), 0.2, None, "centerface"),    # Invalid face.
      Detection((250.0, 200.0, 290.0, 240.0), 0.9, None, "centerface"),  # Too sure.
  ]
  crops, sources, sizes = nonface.photo_patches(image, truth, detections, rng)
  assert sources.count("face") == 1 and sources.count("detector") == 1
  assert sizes[sources.index("face")] == 40.0
  assert all(c.shape == (48, 48) and c.dtype == np.uint8 for c in crops)
  keep_out = nonface._grown(np.array([face, hidden]), 1.2)
  squares = nonface._random_squares(rng, 400, 300, np.array([40.0]), 200)
  kept = [b for b in squares if nonface._max_overlap(b, keep_out) < 0.05]
  assert kept and len(kept) < len(squares)
  for box in kept:  # No kept square holds a face's centre or overlaps one.
    assert not (box[0] <= 120 <= box[2] and box[1] <= 120 <= box[3])
    assert not (box[0] <= 315 <= box[2] and box[1] <= 55 <= box[3])


class _ViewDetector:
  """Finds `direct` in the photo (bright on the left) and `mirrored` in its mirror image."""

  def __init__(self, direct, mirrored):
    self.direct, self.mirrored = direct, mirrored

  def detect(self, image):
    return list(self.direct if image[0, 0, 0] else self.mirrored)


def test_mining_runs_every_scale_on_both_views_and_keeps_one_box_a_spot():
  image = np.zeros((100, 200, 3), np.uint8)
  image[:, :100] = 255
  bag = Detection((10.0, 20.0, 40.0, 50.0), 0.3, None, "centerface")
  same_bag = Detection((11.0, 21.0, 41.0, 51.0), 0.2, None, "centerface")
  # Seen in the mirror image at x 150-180: the photo's x 20-50.
  hand = Detection((150.0, 60.0, 180.0, 90.0), 0.25, None, "centerface")
  scales = [_ViewDetector([bag], []), _ViewDetector([same_bag], [hand])]
  mined = nonface.mined_detections(image, scales, mirror=True)
  assert [d.score for d in mined] == [0.3, 0.25]  # The bag once, surest first.
  assert mined[1].box == (20.0, 60.0, 50.0, 90.0)  # In the photo's pixels.
  assert [d.score for d in nonface.mined_detections(image, scales)] == [0.3]
  assert nonface.mined_detections(image, [_Detector([])], mirror=True) == []


def test_ferplus_not_face_rows(tmp_path):
  votes = np.zeros((4, fer2013.NUM_VOTES), np.int32)
  not_face = fer2013.VOTE_NAMES.index("not_face")
  votes[0, not_face] = 10
  votes[1, not_face], votes[1, 0] = 4, 6  # A face.
  votes[2, not_face], votes[2, 1] = 6, 1  # Single votes are noise: not a face.
  votes[3, 3] = 10
  path = tmp_path / "fer.npz"
  np.savez(path, images=np.zeros((4, 48, 48), np.uint8), labels=np.zeros(4, np.int64),
           splits=np.asarray(["train", "train", "test", "validation"]), votes=votes)
  rows = nonface.ferplus_not_faces(path)
  assert rows["photos"].tolist() == ["fer2013:0", "fer2013:2"]
  assert rows["splits"].tolist() == ["train", "test"]
