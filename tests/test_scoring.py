"""Tests for ferjax.synthetic.scoring on hand-made ground truth."""

import collections
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
  assert score.precision == 1.0 and score.false_tracks == 0
  # Tracking every visible distractor too: each is a false track of its kind.
  for frame, truth in zip(predictions, truths):
    frame += [(1000 + d["id"], d["box"]) for d in truth["distractors"] if d["visible"]]
  tracked = collections.Counter(
      kind for kind, _ in {(d["kind"], d["id"]) for t in truths for d in t["distractors"]
                           if d["visible"]})
  score = scoring.score(truths, predictions)
  assert score.recall == 1.0 and score.precision < 0.7
  assert score.false_tracks == score.tracks_on_distractors
  assert set(score.false_tracks_by_kind) == set(tracked) | {"other"}
  assert score.false_tracks_by_kind["other"] == 0
  # Each kind is found, but not where it lies mostly on a face (a hand over one,
  # a paper behind a head of the next row).
  for kind, count in tracked.items():
    assert count / 2 < score.false_tracks_by_kind[kind] <= count, kind
  assert score.tracks_on_printed_faces == tracked["printed_face"] >= 2


def _with_distractors(truths, *distractors):
  """The same lesson with static distractors: (kind, box) pairs, ids from 100."""
  for truth in truths:
    truth["distractors"] = [{"id": 100 + k, "kind": kind, "box": list(box), "visible": True,
                             "occluded_fraction": 0.0}
                            for k, (kind, box) in enumerate(distractors)]
  return truths


BAG, POSTER_FACE = (200, 200, 230, 225), (300, 20, 320, 40)


def test_track_on_a_distractor_is_a_false_track_and_a_false_positive():
  truths = _with_distractors(_lesson(), ("bag", BAG), ("printed_face", POSTER_FACE))
  predictions = _perfect(truths)
  clean = scoring.score(truths, predictions)
  assert clean.false_tracks == 0 and clean.precision == 1.0
  assert clean.objects == 20 and clean.misses == 0  # The printed face is no one to find.
  assert clean.false_tracks_by_kind == {"bag": 0, "printed_face": 0, "other": 0}
  for frame in predictions:
    frame.append((5, (205, 203, 225, 222)))  # Inside the bag's box, smaller.
  score = scoring.score(truths, predictions)
  assert score.false_tracks == score.tracks_on_distractors == 1
  assert score.false_tracks_by_kind == {"bag": 1, "printed_face": 0, "other": 0}
  assert score.tracks_on_printed_faces == 0
  assert score.false_positives == FRAMES and score.precision == pytest.approx(20 / 30)
  assert score.recall == 1.0 and score.idf1 < 1.0
  assert score.minutes == pytest.approx(1 / 60)  # 10 frames at 10 FPS.
  assert score.false_tracks_per_minute == pytest.approx(60)
  assert score.distinct_ids == 3


def test_track_on_a_printed_face_is_a_false_track():
  truths = _with_distractors(_lesson(), ("printed_face", POSTER_FACE))
  predictions = _perfect(truths)
  for frame in predictions:
    frame.append((5, POSTER_FACE))
  score = scoring.score(truths, predictions)
  assert score.false_tracks == score.tracks_on_distractors == score.tracks_on_printed_faces == 1
  assert score.false_positives == FRAMES and score.precision == pytest.approx(20 / 30)
  assert score.as_dict()["tracks_on_printed_faces"] == 1


def test_false_track_needs_half_its_frames_off_every_face():
  truths = _with_distractors(_lesson(), ("bag", BAG))
  for off_frames, false in ((4, 0), (5, 1)):
    predictions = _perfect(truths)
    for f, frame in enumerate(predictions):  # Track 7 drifts onto the bag.
      if f < off_frames:
        frame[0] = (7, BAG)
    score = scoring.score(truths, predictions)
    assert score.false_tracks == score.false_tracks_by_kind["bag"] == false
  # A track on nothing listed is a false track of its own kind.
  predictions = _perfect(truths)
  predictions[0].append((5, (400, 300, 420, 320)))
  score = scoring.score(truths, predictions)
  assert score.false_tracks_by_kind == {"bag": 0, "other": 1}
  assert score.tracks_on_distractors == 0


def test_places_faces_first_then_distractors():
  truth = _with_distractors(_lesson()[:1], ("hand", (10, 22, 22, 36)),
                            ("hand", (60, 40, 70, 52)), ("bag", (40, 5, 60, 30)))[0]
  truth["students"][0]["box"] = [10, 23, 30, 30]  # Writing: squashed to 20 x 7.
  boxes = [(10, 16, 30, 30),    # On the bowed head: IoU 0.5.
           (10, 10, 30, 30),    # Loose on it (IoU 0.35), the face inside.
           (10, 22, 22, 36),    # On the hand over the face: most of the face in it.
           (58, 38, 72, 54),    # Around a raised hand, away from faces.
           (42, 8, 58, 28),     # Inside the bag.
           (35, 5, 60, 30),     # Around the bag.
           (94, 0, 126, 36),    # Loose around student 2's face: IoU 0.35.
           (200, 200, 210, 210)]
  assert scoring.places(truth, boxes) == [
      "person", "person", "person", "hand", "bag", "bag", "person", "other"]
  truth["students"] = []  # Without the faces, what lies over them.
  assert scoring.places(truth, boxes[1:3] + boxes[6:7]) == ["hand", "hand", "other"]
  truth["distractors"][0]["visible"] = False  # A hidden hand is not there to be on.
  assert scoring.places(truth, boxes[1:3]) == ["other", "other"]
  assert scoring.places(truth, []) == []


def test_a_loose_box_on_a_writing_face_is_no_false_track():
  truths = _lesson()
  for truth in truths:
    truth["students"][0]["box"][1] += 13  # Squashed to 20 x 7: IoU 0.35 with 20 x 20.
  score = scoring.score(truths, _perfect(_lesson()))
  assert score.false_tracks == 0
  assert score.misses == score.false_positives == FRAMES  # motmetrics matches by IoU.


def test_emotions_pair_each_counted_face_with_its_box():
  """Both students are "angry"; student 1 is read angry in every frame, student 2
  happy in half the frames and uncertain in the rest; a box on nothing is ignored."""
  truths = _lesson(hidden=(9,))
  reported = []
  for f, truth in enumerate(truths):
    one, two = (s["box"] for s in truth["students"])
    reported.append([(one, "angry"), (two, "happy" if f % 2 else "uncertain"),
                     ((300, 300, 320, 320), "sad")])
  result = scoring.emotions(truths, reported)
  assert result["found"] == 19  # Student 2 is hidden in the last frame.
  assert result["read"] == pytest.approx((10 + 4) / 19)  # Frames 1, 3, 5, 7 read happy.
  assert result["agree"] == pytest.approx(10 / 14)
  shifted = [[((b[0] + 15, b[1], b[2] + 15, b[3]), label) for b, label in faces]
             for faces in reported]  # IoU 0.14: no pair.
  assert scoring.emotions(truths, shifted)["found"] == 0
