"""WIDER FACE ground truth parsing and detection scoring on hand-made boxes."""

import os

import numpy as np
import pytest

from ferjax.data import wider_face
from ferjax.data.errors import DataError
from ferjax.evaluation import detection_scores as ds

# Three events; a zero-face image; an invalid face; a negative width; a zero height.
GROUND_TRUTH = """\
11--Meeting/11_Meeting_Meeting_11_1.jpg
3
10 20 30 40 1 0 0 0 0 0 
100 20 30 40 2 1 1 1 2 1 
200 20 -5 40 0 0 0 0 0 0 
29--Students_Schoolkids/29_Students_1.jpg
0
0 0 0 0 0 0 0 0 0 0 
9--Press_Conference/9_Press_1.jpg
2
5 6 7 8 0 0 0 0 1 0 
1 1 10 0 0 0 0 0 0 0 
11--Meeting/11_Meeting_Meeting_11_2.jpg
1
50 60 20 20 0 0 0 0 0 0 
"""


def _write(tmp_path, text, name=wider_face.GROUND_TRUTH_NAME):
  path = os.path.join(tmp_path, name)
  with open(path, "w") as f:
    f.write(text)
  return path


def test_reads_images_faces_and_attributes(tmp_path):
  images = wider_face.read_ground_truth(_write(tmp_path, GROUND_TRUTH))
  assert [m.path for m in images] == [
      "11--Meeting/11_Meeting_Meeting_11_1.jpg", "29--Students_Schoolkids/29_Students_1.jpg",
      "9--Press_Conference/9_Press_1.jpg", "11--Meeting/11_Meeting_Meeting_11_2.jpg"]
  meeting, empty, press, _ = images
  assert meeting.event == "11--Meeting" and meeting.line == 1
  np.testing.assert_array_equal(meeting.boxes, [[10, 20, 40, 60], [100, 20, 130, 60]])
  np.testing.assert_array_equal(meeting.invalid, [False, True])
  np.testing.assert_array_equal(meeting.blur, [1, 2])
  np.testing.assert_array_equal(meeting.expression, [0, 1])
  np.testing.assert_array_equal(meeting.illumination, [0, 1])
  np.testing.assert_array_equal(meeting.occlusion, [0, 2])
  np.testing.assert_array_equal(meeting.pose, [0, 1])
  assert meeting.skipped == 1  # The negative width.
  assert empty.num_faces == 0 and empty.boxes.shape == (0, 4) and empty.skipped == 0
  assert press.num_faces == 1 and press.skipped == 1  # The zero height.
  assert press.invalid.dtype == bool


def test_events_by_number(tmp_path):
  images = wider_face.read_ground_truth(_write(tmp_path, GROUND_TRUTH))
  assert wider_face.events(images) == [
      "9--Press_Conference", "11--Meeting", "29--Students_Schoolkids"]
  assert len(wider_face.of_events(images, ["11--Meeting"])) == 2
  with pytest.raises(DataError, match="12--Group"):
    wider_face.of_events(images, ["12--Group"])


def test_zero_face_image_without_its_line_of_zeros(tmp_path):
  text = "a/1.jpg\n0\na/2.jpg\n1\n1 2 3 4 0 0 0 0 0 0\n\n"
  images = wider_face.read_ground_truth(_write(tmp_path, text))
  assert [m.num_faces for m in images] == [0, 1]


def test_folder_and_image_paths(tmp_path):
  _write(tmp_path, GROUND_TRUTH)
  with pytest.raises(DataError, match="images/"):
    wider_face.read_folder(str(tmp_path))
  os.makedirs(tmp_path / "images")
  images = wider_face.read_folder(str(tmp_path))
  assert wider_face.image_file(str(tmp_path), images[0]) == os.path.join(
      str(tmp_path), "images", "11--Meeting", "11_Meeting_Meeting_11_1.jpg")


@pytest.mark.parametrize("text, where, what", [
    ("a/1.jpg\n3\n1 2 3 4 0 0 0 0 0 0\n", ":3:", "truncated"),
    ("a/1.jpg\n", ":1:", "truncated"),
    ("a/1.jpg\ntwo\n", ":2:", "number of faces"),
    ("a/1.jpg\n-1\n", ":2:", "number of faces"),
    ("a/1.jpg\n1\n1 2 x 4 0 0 0 0 0 0\n", ":3:", "10 numbers"),
    ("a/1.jpg\n1\n1 2 3 4 0 0\n", ":3:", "10 numbers"),
    ("a/1.jpg\n1\n1 2 3 4 0 0 0 0.5 0 0\n", ":3:", "whole numbers"),
    ("a/1.jpg\n2\n1 2 3 4 0 0 0 0 0 0\nb/2.jpg\n", ":4:", "10 numbers"),
    ("a/1.jpg\n1\n1 2 3 4 0 0 0 0 0 0\n1 2 3 4 0 0 0 0 0 0\n", ":4:", "image path"),
    ("a/1.jpg\n0\n0 0 1 0 0 0 0 0 0 0\n", ":3:", "line of zeros"),
    ("\n\n", "", "empty"),
])
def test_bad_input_names_file_and_line(tmp_path, text, where, what):
  path = _write(tmp_path, text)
  with pytest.raises(DataError, match=what) as error:
    wider_face.read_ground_truth(path)
  assert str(error.value).startswith(path + where)


def test_missing_file_says_what_to_do(tmp_path):
  with pytest.raises(DataError, match="WIDER_val.zip"):
    wider_face.read_ground_truth(os.path.join(tmp_path, "none.txt"))


# Scoring.

FACE = [0, 0, 20, 20]           # 20 px, area 400.
HALF = [0, 0, 20, 10]           # IoU 0.5 with FACE exactly.
LESS = [0, 0, 20, 9.8]          # IoU 0.49.


def _match(dets, det_scores, faces, ignore=None, iou=0.5):
  faces = np.asarray(faces, np.float64).reshape(-1, 4)
  ignore = np.zeros(len(faces), bool) if ignore is None else np.asarray(ignore)
  return ds.match(np.asarray(dets, np.float64).reshape(-1, 4), det_scores, faces, ignore,
                  iou)


def test_face_size_is_the_side_of_the_box_area():
  np.testing.assert_allclose(ds.face_size([[0, 0, 4, 9], [1, 1, 1, 5]]), [6, 0])
  np.testing.assert_array_equal(
      ds.ignore_regions([[0, 0, 8, 12], [0, 0, 10, 10], [0, 0, 30, 30]],
                        [False, False, True]), [True, False, True])


def test_hit_from_iou_threshold():
  assert _match([HALF], [0.9], [FACE]).outcome.tolist() == [ds.HIT]
  assert _match([LESS], [0.9], [FACE]).outcome.tolist() == [ds.FALSE_POSITIVE]
  assert _match([LESS], [0.9], [FACE], iou=0.4).outcome.tolist() == [ds.HIT]


def test_detection_on_an_ignore_region_counts_neither_way():
  m = _match([FACE, [100, 0, 105, 5]], [0.9, 0.8], [FACE, [100, 0, 105, 5]],
             ignore=[True, False])
  assert m.outcome.tolist() == [ds.IGNORED, ds.HIT]
  assert m.counted.tolist() == [False, True]
  point = ds.operating_point([m], 0.5)
  assert point.hits == 1 and point.false_positives == 0 and point.ignored == 1


def test_tiny_faces_are_ignore_regions():
  faces = np.array([[0, 0, 8, 8], [50, 50, 80, 80]], np.float64)
  ignore = ds.ignore_regions(faces, [False, False])
  m = ds.match(faces, [0.9, 0.8], faces, ignore)
  assert m.outcome.tolist() == [ds.IGNORED, ds.HIT]
  point = ds.operating_point([m], 0.5)
  assert point.precision == 1.0 and point.recall[10] == 1.0 and point.faces[10] == 1


def test_duplicate_detection_is_a_false_positive():
  m = _match([FACE, [1, 1, 21, 21]], [0.6, 0.9], [FACE])
  # Score order: the 0.9 box takes the face, the 0.6 one is a duplicate.
  assert m.scores.tolist() == [0.9, 0.6]
  assert m.outcome.tolist() == [ds.HIT, ds.FALSE_POSITIVE]
  assert m.hit_score.tolist() == [0.9]


def test_each_detection_takes_its_best_unmatched_face():
  faces = [[0, 0, 20, 20], [4, 0, 24, 20]]
  m = _match([[4, 0, 24, 20], [1, 0, 21, 20]], [0.9, 0.8], faces)
  assert m.face.tolist() == [1, 0] and m.outcome.tolist() == [ds.HIT, ds.HIT]


def test_average_precision():
  faces = [FACE, [100, 0, 120, 20]]
  perfect = _match(faces, [0.9, 0.8], faces)
  assert ds.average_precision([perfect]) == 1.0
  # Ranked hit, false positive, hit: precision 1 to recall 0.5, then 2/3.
  mixed = _match([FACE, [50, 50, 70, 70], [100, 0, 120, 20]], [0.9, 0.8, 0.7], faces)
  assert ds.average_precision([mixed]) == pytest.approx(0.5 + 0.5 * 2 / 3)
  # A face never found caps it at the recall reached; images pool their rankings.
  assert ds.average_precision([perfect, _match([], [], [FACE])]) == pytest.approx(2 / 3)
  assert np.isnan(ds.average_precision([_match([FACE], [0.9], [])]))


def test_operating_point():
  faces = [[0, 0, 12, 12], [50, 0, 70, 20], [100, 0, 130, 30]]  # 12, 20 and 30 px.
  m = _match([[50, 0, 70, 20], [100, 0, 130, 30], [200, 0, 220, 20], [0, 0, 12, 12]],
             [0.9, 0.4, 0.5, 0.2], faces)
  empty = _match([], [], [])
  point = ds.operating_point([m, empty], 0.35)
  assert point.recall == {10: 2 / 3, 16: 1.0, 24: 1.0}
  assert point.faces == {10: 3, 16: 2, 24: 1}
  assert (point.hits, point.false_positives) == (2, 1)
  assert point.precision == pytest.approx(2 / 3)
  assert point.false_positives_per_image == 0.5
  strict = ds.operating_point([m, empty], 0.45)
  assert strict.recall[24] == 0.0 and strict.precision == 0.5


def test_mismatched_lengths_fail():
  with pytest.raises(ValueError):
    ds.match(np.zeros((2, 4)), [0.5], np.zeros((0, 4)), np.zeros(0, bool))
