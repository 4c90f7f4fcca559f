"""Tests for ferjax.synthetic.scoring on hand-made ground truth."""

import math

import numpy as np
import pytest

from ferjax.synthetic import classroom, scoring

FRAMES = 10


@pytest.fixture(name="classroom_faces")
def _classroom_faces():
  rng = np.random.default_rng(0)
  return rng.integers(0, 256, (40, 48, 48), dtype=np.uint8), np.arange(40) % 7


def _face(face_id, box, visible=True, size=None):
  return {"id": face_id, "box": list(box), "visible": visible,
          "occluded_fraction": 0.0 if visible else 1.0,
          "size": size or max(box[2] - box[0], box[3] - box[1]), "pose": "frontal",
          "label": 0, "emotion": "angry"}


def _lesson(hidden=(), teacher=False):
  """Two 20 px students walking right; student 2 hidden in frames `hidden`."""
  truths = []
  for f in range(FRAMES):
    students = [_face(1, (10 + f, 10, 30 + f, 30)),
                _face(2, (100 + f, 10, 120 + f, 30), visible=f not in hidden)]
    truth = {"frame": f, "time_s": f / 10, "teacher_box": None, "students": students,
             "teacher": _face(3, (200, 50, 240, 90)) | {"teacher": True} if teacher else None}
    truths.append(truth)
  return truths


def _perfect(truths, ids=(7, 9)):
  return [[(ids[i], s["box"]) for i, s in enumerate(t["students"])] for t in truths]


def test_perfect_tracks():
  truths = _lesson()
  score = scoring.score(truths, _perfect(truths))
  assert score.mota == 1.0 and score.idf1 == 1.0 and score.id_switches == 0
  assert score.recall == score.recall_all_visible == score.precision == 1.0
  assert (score.matches, score.misses, score.false_positives) == (20, 0, 0)
  assert (score.distinct_ids, score.students, score.people) == (2, 2, 2)
  assert score.ids_per_person == 1.0
  assert score.track_to_person == {7: 1, 9: 2}
  assert score.recall_by_state == {"frontal": 1.0}


def test_swapped_ids_count_as_switches():
  truths = _lesson()
  predictions = _perfect(truths)
  for frame in predictions[5:]:
    (a, box_a), (b, box_b) = frame
    frame[:] = [(b, box_a), (a, box_b)]
  score = scoring.score(truths, predictions)
  assert score.id_switches == 2
  assert score.recall == 1.0
  assert score.mota == pytest.approx(1 - 2 / 20)
  assert score.idf1 == pytest.approx(0.5)


def test_new_id_after_a_gap_is_a_switch_and_an_extra_id():
  truths = _lesson()
  predictions = _perfect(truths)
  for frame in predictions[6:]:
    frame[1] = (11, frame[1][1])
  score = scoring.score(truths, predictions)
  assert score.id_switches == 1
  assert score.distinct_ids == 3 and score.ids_per_person == 1.5


def test_missed_visible_face_lowers_recall():
  truths = _lesson()
  predictions = _perfect(truths)
  for frame in predictions[:5]:
    del frame[1]
  score = scoring.score(truths, predictions)
  assert score.misses == 5
  assert score.recall == pytest.approx(15 / 20)
  assert score.precision == 1.0
  assert score.mota == pytest.approx(15 / 20)


def test_box_below_the_iou_threshold_is_a_miss_and_a_false_positive():
  truths = _lesson()
  predictions = _perfect(truths)
  x0, y0, x1, y1 = predictions[0][0][1]
  predictions[0][0] = (7, (x0 + 10, y0, x1 + 10, y1))  # IoU 1/3.
  score = scoring.score(truths, predictions)
  assert (score.misses, score.false_positives) == (1, 1)
  assert scoring.score(truths, predictions, iou_threshold=0.3).misses == 0


def test_hypothesis_on_a_hidden_face_is_no_false_positive():
  truths = _lesson(hidden=range(3, 7))
  score = scoring.score(truths, _perfect(truths))  # Still reports the hidden face.
  assert score.false_positives == 0 and score.precision == 1.0
  assert score.ignored_hypotheses == 4
  assert score.objects == 16 and score.recall == 1.0
  # Missing the hidden face is no miss either.
  predictions = [[h for h in frame if not (3 <= f < 7 and h[0] == 9)]
                 for f, frame in enumerate(_perfect(truths))]
  assert scoring.score(truths, predictions).misses == 0
  # A box on the empty wall is a false positive.
  predictions[0].append((5, (300, 300, 320, 320)))
  assert scoring.score(truths, predictions).false_positives == 1


def test_small_faces_are_dont_care_but_count_in_recall_of_all_visible():
  truths = _lesson()
  for truth in truths:
    truth["students"][1]["size"] = 12
  predictions = [frame[:1] for frame in _perfect(truths)]  # Student 2 never found.
  score = scoring.score(truths, predictions, min_size=14)
  assert score.recall == 1.0 and score.misses == 0 and score.objects == 10
  assert score.recall_all_visible == pytest.approx(0.5)
  assert scoring.score(truths, predictions, min_size=10).recall == pytest.approx(0.5)


def test_teacher_is_a_person_unless_excluded():
  truths = _lesson(teacher=True)
  predictions = _perfect(truths)
  with_teacher = scoring.score(truths, predictions)
  assert with_teacher.people == 3 and with_teacher.misses == FRAMES
  for frame, truth in zip(predictions, truths):
    frame.append((4, truth["teacher"]["box"]))
  assert scoring.score(truths, predictions).recall == 1.0
  excluded = scoring.score(truths, predictions, include_teacher=False)
  assert excluded.people == 2 and excluded.false_positives == 0
  assert excluded.ignored_hypotheses == FRAMES


def test_recall_by_state():
  truths = _lesson(teacher=True)
  for truth in truths[:4]:
    truth["students"][1].update(pose="down", occluded_fraction=0.3)
  predictions = _perfect(truths)
  for frame in predictions[:2]:
    del frame[1]  # Student 2 missed in two of the four frames it writes.
  score = scoring.score(truths, predictions)
  assert score.recall_by_state == {"down": 0.5, "frontal": 16 / 26,  # Teacher missed.
                                   "partly_hidden": 0.5, "teacher": 0.0}


def test_frame_counts_must_agree():
  with pytest.raises(ValueError, match="frames"):
    scoring.score(_lesson(), [[]])


def test_no_predictions_scores_zero_recall():
  score = scoring.score(_lesson(), [[] for _ in range(FRAMES)])
  assert score.recall == 0.0 and score.misses == 20 and score.distinct_ids == 0
  assert math.isnan(score.idp) or score.idp == 0.0


def test_ground_truth_boxes_of_a_generated_lesson_score_perfectly(classroom_faces):
  truths = [t for _, t in classroom.lesson(*classroom_faces, num_students=25,
                                           num_frames=30, seed=3, teacher_start=0,
                                           teacher_speed=30)]
  predictions = [[(f["id"], f["box"]) for f, _ in scoring.people_of(t) if f["visible"]]
                 for t in truths]
  score = scoring.score(truths, predictions)
  assert score.mota == 1.0 and score.idf1 == 1.0 and score.id_switches == 0
  assert score.people == 26 and score.distinct_ids == 26
  assert score.ignored_hypotheses > 0  # The back row's 12 px faces.
