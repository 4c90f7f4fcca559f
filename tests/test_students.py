"""Who becomes a student: verification by the face output, seats, flickers and duplicates."""

import itertools

import cv2
import numpy as np
import pytest

from ferjax.live.students import MIN_CHANGE, Students, thumbnail
from ferjax.live.tracking import Track


_DETECTIONS = itertools.count(3)
_HITS = {}  # Track id -> its detections so far (a coasting track gains none).


def _track(track_id, x, y=50.0, size=40.0, coasting=False):
  """A track at (x, y): detected this frame (a new hit), or coasting on its prediction."""
  box = np.array([x, y, x + size, y + size], np.float64)
  if not coasting or track_id not in _HITS:
    _HITS[track_id] = next(_DETECTIONS)
  return Track(id=track_id, box=box, score=0.9, hits=_HITS[track_id], age=3,
               time_since_update=6 if coasting else 0, detection_index=None if coasting else 0,
               missed_rounds=2 if coasting else 0)


def _students(**settings):
  """A registry with the picture rule off (`min_change=0`): the tests of the other rules
  use faces that stand still."""
  return Students(**{"min_change": 0.0, **settings})


def _see(students, tracks, t, image=None):
  students.update_tracks(tracks, t, {track.id for track in tracks}, image)


def test_an_object_never_becomes_a_student_and_is_counted_as_rejected():
  students = _students(face_threshold=0.5, min_new_s=1.0)
  for i in range(50):
    t = i / 10
    _see(students, [_track(1, 10)], t)
    assert students.observe(1, 0.1, t) is None
  assert students.num_ids == 0 and students.student_of(1) is None
  _see(students, [], 5.0)  # The track ends.
  assert students.rejected_tracks == 1


def test_a_face_that_is_briefly_unreadable_keeps_its_id():
  students = _students(face_threshold=0.5, min_new_s=0.0)
  _see(students, [_track(1, 10)], 0.0)
  assert students.observe(1, 0.9, 0.0) == 1
  for i in range(1, 20):  # A hand over the face: low P(face) readings.
    _see(students, [_track(1, 10)], i / 10)
    assert students.observe(1, 0.05, i / 10) == 1
  assert students.student_of(1) == 1 and students.num_ids == 1


def test_a_new_student_needs_time_but_the_first_faces_do_not():
  students = _students(face_threshold=0.5, min_new_s=1.0)
  _see(students, [_track(1, 10)], 0.0)
  assert students.observe(1, 0.9, 0.0) == 1  # Present at the start: at once.
  _see(students, [_track(1, 10), _track(2, 300)], 0.5)
  assert students.observe(2, 0.9, 0.5) is None  # A flicker so far.
  _see(students, [_track(1, 10), _track(2, 300)], 1.2)
  assert students.observe(2, 0.9, 1.2) is None  # Seen since 0.5 s: 0.7 s.
  _see(students, [_track(1, 10), _track(2, 300)], 1.6)
  assert students.observe(2, 0.9, 1.6) == 2


def test_the_first_faces_count_at_once_when_the_first_detection_comes_late():
  """A camera reports nothing until its first detection is ready."""
  students = _students(face_threshold=0.5, min_new_s=1.0)
  for t in (0.0, 0.03, 0.07):
    _see(students, [], t)
  _see(students, [_track(1, 10), _track(2, 300)], 0.4)
  assert students.observe(1, 0.9, 0.4) == 1 and students.observe(2, 0.9, 0.4) == 2
  _see(students, [_track(1, 10), _track(2, 300), _track(3, 200)], 0.6)
  assert students.observe(3, 0.9, 0.6) is None  # Later faces still need min_new_s.


def test_a_flicker_under_a_second_never_becomes_a_student():
  students = _students(face_threshold=0.5, min_new_s=1.0)
  _see(students, [_track(1, 10)], 0.0)
  students.observe(1, 0.9, 0.0)
  for t in (2.0, 2.3, 2.6):
    _see(students, [_track(1, 10), _track(5, 300)], t)
    assert students.observe(5, 0.95, t) is None
  _see(students, [_track(1, 10)], 2.9)
  # A face, though never a student: not counted among the rejected non-faces.
  assert students.num_ids == 1 and students.rejected_tracks == 0


def test_a_student_back_at_their_seat_minutes_later_takes_their_id_back():
  students = _students(min_new_s=1.0)
  _see(students, [_track(1, 10), _track(2, 200)], 0.0)
  assert students.observe(1, 0.9, 0.0) == 1 and students.observe(2, 0.9, 0.0) == 2
  _see(students, [_track(2, 200)], 10.0)  # Student 1 looks down; the tracker forgets.
  _see(students, [_track(2, 200), _track(7, 14)], 190.0)  # Back, 3 minutes later.
  assert students.observe(7, 0.9, 190.0) == 1  # At once: not a new student.
  assert students.num_ids == 2 and students.seat_returns == 1


def test_a_seat_is_not_taken_while_its_student_is_visibly_elsewhere():
  students = _students(min_new_s=1.0)
  _see(students, [_track(1, 10)], 0.0)
  students.observe(1, 0.9, 0.0)
  _see(students, [_track(1, 400)], 5.0)  # Student 1 walked to the board.
  _see(students, [_track(1, 400), _track(3, 12)], 6.0)
  assert students.observe(3, 0.9, 6.0) is None  # Someone new in that seat: not yet ...
  _see(students, [_track(1, 400), _track(3, 12)], 7.5)
  assert students.observe(3, 0.9, 7.5) == 2  # ... then a student of their own.


def test_a_second_box_on_a_tracked_student_never_becomes_a_student():
  students = _students(min_new_s=0.5)
  _see(students, [_track(1, 100)], 0.0)
  students.observe(1, 0.9, 0.0)
  for t in np.arange(1.0, 5.0, 0.5):  # A duplicate box, shifted by a third of the face.
    _see(students, [_track(1, 100), _track(2, 113)], t)
    assert students.observe(2, 0.9, t) is None
  assert students.num_ids == 1


def test_settings_are_checked():
  with pytest.raises(ValueError, match="face_threshold"):
    Students(face_threshold=1.5)
  with pytest.raises(ValueError, match="evidence_weight"):
    Students(evidence_weight=0.0)
  with pytest.raises(ValueError, match="min_change"):
    Students(min_change=-0.1)


def test_a_head_coming_up_from_the_desk_keeps_its_id():
  """The face jumps 1.8 face sizes up between two detections: the old track coasts,
  a new one starts above it and takes the student's id; the old one lets go."""
  students = _students(min_new_s=1.0)
  for t in np.arange(0.0, 3.0, 0.5):  # Head down over the desk from the start.
    _see(students, [_track(1, 100, y=200)], t)
    students.observe(1, 0.9, t)
  _see(students, [_track(1, 100, y=200, coasting=True), _track(5, 104, y=128)], 3.0)
  assert students.observe(5, 0.9, 3.0) == 1
  assert students.student_of(1) is None and students.observe(1, 0.9, 3.0) is None
  _see(students, [_track(5, 104, y=128)], 3.5)
  assert students.num_ids == 1 and students.rejected_tracks == 0  # Not an object.


def test_a_track_that_let_go_takes_its_student_back_when_found_again():
  """The old track coasts and a new one takes the id; then the new one loses the
  face and the detector finds the old track again: it is that student again, not
  an unreported box on a student's face for the rest of the lesson."""
  students = _students(min_new_s=1.0)
  for t in np.arange(0.0, 3.0, 0.5):
    _see(students, [_track(1, 100, y=200)], t)
    students.observe(1, 0.9, t)
  _see(students, [_track(1, 100, y=200, coasting=True), _track(5, 104, y=128)], 3.0)
  assert students.observe(5, 0.9, 3.0) == 1
  _see(students, [_track(1, 100, y=200, coasting=True)], 3.2)  # Track 5 is gone.
  assert students.observe(1, 0.9, 3.2) is None  # Still only coasting.
  _see(students, [_track(1, 100, y=200)], 3.5)  # The head went back down: detected.
  assert students.observe(1, 0.9, 3.5) == 1 and students.num_ids == 1


def test_a_student_leaning_over_to_the_row_behind_keeps_their_id():
  """Detected at (100, 200), then lost while the prediction drifts on; the face shows up
  1.5 face sizes to the side and 1.75 up: that student, not a new one."""
  students = _students(min_new_s=1.0)
  for t in np.arange(0.0, 3.0, 0.5):
    _see(students, [_track(1, 100, y=200)], t)
    students.observe(1, 0.9, t)
  for t in (3.1, 3.2, 3.3):
    _see(students, [_track(1, 100 + 40 * (t - 3), y=200 + 40 * (t - 3), coasting=True)], t)
  _see(students, [_track(1, 112, y=212, coasting=True), _track(7, 40, y=130)], 3.4)
  assert students.observe(7, 0.9, 3.4) == 1 and students.num_ids == 1


def test_a_neighbour_beside_a_coasting_student_is_not_that_student():
  students = _students(min_new_s=1.0)
  _see(students, [_track(1, 100)], 0.0)
  students.observe(1, 0.9, 0.0)
  # Student 1 is lost; someone appears 2 face sizes to the side (the boxes of seated
  # neighbours' faces lie 2.5 or more of their sizes apart).
  for t in (1.0, 1.5, 2.5):
    _see(students, [_track(1, 100, coasting=True), _track(6, 180)], t)
    student = students.observe(6, 0.9, t)
  assert student == 2 and students.student_of(1) == 1


def test_a_student_returns_to_a_place_seen_earlier_not_the_last_one():
  """Seated for a minute, then bowed far over the desk until lost: back upright, the
  face is 2 face sizes from the last box but at the place it spent the minute."""
  students = _students(min_new_s=1.0)
  for t in np.arange(0.0, 60.0, 0.5):
    _see(students, [_track(1, 100, y=100), _track(2, 400, y=100)], t)
    students.observe(1, 0.9, t)
    students.observe(2, 0.9, t)
  for t in np.arange(60.0, 70.0, 0.5):
    _see(students, [_track(1, 100, y=180), _track(2, 400, y=100)], t)
  _see(students, [_track(2, 400, y=100)], 200.0)  # Lost for minutes.
  _see(students, [_track(2, 400, y=100), _track(9, 102, y=100)], 260.0)
  assert students.observe(9, 0.9, 260.0) == 1 and students.num_ids == 2


def _jitter(rng, x, size=40.0, share=0.02):
  """x moved by the detector's jitter on a still face: up to `share` of its size."""
  return x + rng.uniform(-share / 2, share / 2) * size


def _room(faces, t, size=40):
  """A frame at time `t` under camera noise: each (x, seed) a blocky face texture at
  (x, 50), `size` pixels a side."""
  image = np.clip(np.random.default_rng(int(t * 1000)).normal(90, 3, (200, 480, 3)),
                  0, 255).astype(np.uint8)
  for x, seed in faces:
    texture = np.random.default_rng(seed).integers(0, 255, (5, 5), np.uint8)
    x = int(round(x))
    image[50:50 + size, x:x + size] = cv2.resize(
        texture, (size, size), interpolation=cv2.INTER_NEAREST)[..., None]
  return image


def test_a_picture_is_shown_only_in_the_first_second_and_a_student_who_moves_stays():
  students = Students(face_threshold=0.5)  # The picture rule on (the default).
  rng = np.random.default_rng(0)
  shown = {1: [], 2: []}
  for i in range(60):
    t = i / 10
    # Track 1: a printed face on the wall (its box jitters, its pixels do not); 2: a
    # seated student swaying.
    student_x = 300 + 3 * np.sin(i / 3)
    _see(students, [_track(1, _jitter(rng, 10)), _track(2, student_x)], t,
         _room([(10, 1), (student_x, 2)], t))
    for track_id in shown:
      shown[track_id].append(students.observe(track_id, 0.9, t))
    if i == 5:  # A session that ends within the first second: not judged yet.
      assert students.pictures == []
      assert len(students.still_boxes(0.5)) == 1 and len(students.still_boxes(1.0)) == 0
  assert shown[1][:10] == [1] * 10   # The first detection's faces at once ...
  assert set(shown[1][10:]) == {None}  # ... the picture hidden once the first second is out.
  assert shown[2] == [2] * 60
  assert students.still_tracks == 1 and students.pictures == [1]
  # A detector need not follow the picture (only): its box, as the track holds it.
  np.testing.assert_array_equal(students.still_boxes(3.0), [students._candidates[1].box])
  _see(students, [_track(1, 14), _track(2, 300)], 6.0,  # The picture's face moves:
       _room([(14, 1), (300, 2)], 6.0))
  assert students.observe(1, 0.9, 6.0) == 1                   # shown again, its own id.
  assert students.pictures == [] and len(students.still_boxes(0.0)) == 0


def test_a_new_face_that_never_moves_never_becomes_a_student():
  students = Students(face_threshold=0.5)
  rng = np.random.default_rng(1)
  _see(students, [_track(1, 300)], 0.0, _room([(300, 1)], 0.0))
  students.observe(1, 0.9, 0.0)
  for i in range(1, 100):  # A poster found later: verified as a face, never moving.
    t = i / 10
    student_x = 300 + 3 * np.sin(i / 3)
    _see(students, [_track(1, student_x), _track(2, _jitter(rng, 10))], t,
         _room([(student_x, 1), (10, 2)], t))
    students.observe(1, 0.9, t)
    assert students.observe(2, 0.9, t) is None
  assert students.num_ids == 1
  assert len(students.still_boxes(3.0)) == 1  # The poster (verified, still for 9.9 s).
  _see(students, [_track(1, 300)], 10.0, _room([(300, 1)], 10.0))  # Its track ends:
  assert students.still_tracks == 1 and students.rejected_tracks == 0  # a still face.
  for i in range(101, 115):  # A face that comes in later and moves becomes a student.
    t = i / 10
    x = 100 + 2 * (i - 100)
    _see(students, [_track(1, 300), _track(3, x)], t, _room([(300, 1), (x, 3)], t))
    last = students.observe(3, 0.9, t)
  assert last == 2


def test_light_changes_a_picture_less_than_a_small_move_changes_a_face():
  image = _room([(100, 4)], 0.0)
  box = np.array([100.0, 50.0, 140.0, 90.0])
  still = thumbnail(image, box)
  dimmer = (image.astype(np.float32) * 0.75 + 12).astype(np.uint8)  # The light dims.
  moved = _room([(104, 4)], 0.0)  # A tenth of the face's width.
  assert np.mean(np.abs(thumbnail(dimmer, box) - still)) < 0.05
  assert np.mean(np.abs(thumbnail(moved, box) - still)) >= MIN_CHANGE
  assert thumbnail(image, np.array([500.0, 0.0, 540.0, 40.0])) is None  # Outside.
