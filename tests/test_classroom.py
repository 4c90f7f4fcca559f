"""Tests for ferjax.synthetic.classroom (random arrays stand in for faces)."""

import collections
import dataclasses
import itertools

import cv2
import numpy as np
import pytest

from ferjax.synthetic import classroom
from ferjax.labels import EMOTIONS

TEACHER_BGR = (70, 50, 45)


@pytest.fixture(name="faces")
def _faces():
  rng = np.random.default_rng(0)
  # Smooth random blobs: enough structure to find them again in the frame.
  small = rng.integers(0, 256, (40, 6, 6), dtype=np.uint8)
  faces = np.stack([cv2.resize(f, (48, 48), interpolation=cv2.INTER_CUBIC) for f in small])
  return faces, np.arange(40) % 7


def _run(faces, **kwargs):
  return list(classroom.generate(*faces, **kwargs))


@pytest.mark.parametrize("render, num_students, num_frames", [
    (classroom.generate, 5, 6), (classroom.lesson, 25, 8)])
def test_deterministic_for_a_seed(faces, render, num_students, num_frames):
  a, b, c = (list(render(*faces, num_students=num_students, num_frames=num_frames,
                         seed=seed)) for seed in (3, 3, 4))
  for (fa, ga), (fb, gb) in zip(a, b):
    np.testing.assert_array_equal(fa, fb)
    assert ga == gb
  assert not np.array_equal(a[0][0], c[0][0])
  assert a[0][1]["students"] != c[0][1]["students"]


@pytest.mark.parametrize("num_students", [1, 5, 15, 30])
def test_boxes_inside_frame_sized_and_disjoint(faces, num_students):
  frames = _run(faces, num_students=num_students, num_frames=40, seed=1, fps=5)
  for frame, truth in frames:
    assert frame.shape == (480, 640, 3) and frame.dtype == np.uint8
    boxes = [s["box"] for s in truth["students"]]
    assert [s["id"] for s in truth["students"]] == list(range(1, num_students + 1))
    for x0, y0, x1, y1 in boxes:
      assert 0 <= x0 < x1 <= 640 and 0 <= y0 < y1 <= 480
      assert 30 <= x1 - x0 <= 90 and x1 - x0 == y1 - y0
    for a, b in itertools.combinations(boxes, 2):
      assert min(a[2], b[2]) <= max(a[0], b[0]) or min(a[3], b[3]) <= max(a[1], b[1])
  # Students move (sway) over time.
  first = frames[0][1]["students"][0]["box"]
  assert any(f[1]["students"][0]["box"] != first for f in frames)


@pytest.mark.parametrize("feather", [0.0, 0.2])
def test_faces_drawn_where_the_boxes_say(faces, feather):
  images, labels = faces
  for frame, truth in _run(faces, num_students=5, num_frames=3, seed=2, teacher=False):
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY).astype(np.float32)
    for student in truth["students"]:
      x0, y0, x1, y1 = student["box"]
      crop = cv2.resize(gray[y0:y1, x0:x1], (48, 48), interpolation=cv2.INTER_AREA)
      # Which source face matches the crop best (centre, where alpha is 1)?
      scores = [np.corrcoef(crop[12:36, 12:36].ravel(),
                            f[12:36, 12:36].astype(np.float32).ravel())[0, 1] for f in images]
      best = int(np.argmax(scores))
      assert scores[best] > 0.9
      assert student["label"] == labels[best]
      assert student["emotion"] == EMOTIONS[student["label"]]


def test_occlusion_flags_match_the_teacher(faces):
  frames = _run(faces, num_students=15, num_frames=120, seed=5, teacher_start=10,
                teacher_speed=10)
  hidden_ids = set()
  for frame, truth in frames:
    teacher = truth["teacher_box"]
    if truth["frame"] < 10:
      assert teacher is None
    for student in truth["students"]:
      x0, y0, x1, y1 = student["box"]
      if teacher is None:
        overlap = 0.0
      else:
        w = max(0, min(x1, teacher[2]) - max(x0, teacher[0]))
        h = max(0, min(y1, teacher[3]) - max(y0, teacher[1]))
        overlap = w * h / ((x1 - x0) * (y1 - y0))
      assert student["occluded_fraction"] == pytest.approx(overlap, abs=1e-4)
      assert student["visible"] == (overlap < 0.5)
      if overlap == 1.0:  # Fully hidden: the pixels are the teacher's.
        assert (frame[y0:y1, x0:x1] == TEACHER_BGR).all()
      if not student["visible"]:
        hidden_ids.add(student["id"])
  front_row = {11, 12, 13, 14, 15}  # 3 rows of 5, back row first.
  assert hidden_ids == front_row


def test_label_changes_at_known_times(faces):
  frames = _run(faces, num_students=5, num_frames=20, seed=0, label_change_every=5)
  per_student = np.array([[s["label"] for s in t["students"]] for _, t in frames])
  for start in range(0, 20, 5):
    assert (per_student[start:start + 5] == per_student[start]).all()
  assert (per_student[0] != per_student[5]).any() or (per_student[5] != per_student[10]).any()


def test_too_many_students_rejected(faces):
  with pytest.raises(ValueError, match="do not fit"):
    next(classroom.generate(*faces, num_students=200))


@pytest.mark.parametrize("extension", [".avi", ".mp4"])
def test_video_written_and_read_back(faces, tmp_path, extension):
  path = str(tmp_path / f"class{extension}")
  frames = (f for f, _ in classroom.generate(*faces, num_students=2, num_frames=12,
                                              width=320, height=240))
  assert classroom.write_video(path, frames, fps=15) == 12
  capture = cv2.VideoCapture(path)
  count = 0
  while True:
    ok, frame = capture.read()
    if not ok:
      break
    assert frame.shape == (240, 320, 3)
    count += 1
  capture.release()
  assert count == 12


# The realistic rendering (`lesson`, `lecture_photo`).

QUIET = classroom.Realism(down_share=0.0, turned_share=0.0, lean_share=0.0, arm_share=0.0,
                          gain_drift=0.0, colour_drift=0.0, flicker_every_s=0.0,
                          distractors=False, sensor_noise=0.0)
STATIC_KINDS = {"bag", "paper", "pencil_case", "printed_face"}


def _lesson(faces, **kwargs):
  return list(classroom.lesson(*faces, **kwargs))



@pytest.mark.parametrize("num_students", [25, 30, 40])
def test_lesson_faces_in_perspective_between_12_and_30_px(faces, num_students):
  frames = _lesson(faces, num_students=num_students, num_frames=30, seed=1)
  for frame, truth in frames:
    assert frame.shape == (480, 640, 3) and frame.dtype == np.uint8
    students = truth["students"]
    assert [s["id"] for s in students] == list(range(1, num_students + 1))
    sizes = [s["size"] for s in students]
    assert min(sizes) == 12 and max(sizes) == 30
    assert sizes == sorted(sizes)  # Back row first: the back rows are smaller.
    for s in students:
      x0, y0, x1, y1 = s["box"]
      assert 0 <= x0 < x1 <= 640 and 0 <= y0 < y1 <= 480
      assert max(x1 - x0, y1 - y0) == s["size"]
      assert s["pose"] in classroom.POSES
      assert s["visible"] == (s["occluded_fraction"] < 0.5)
  first = frames[0][1]["students"][-1]["box"]
  assert any(t["students"][-1]["box"] != first for _, t in frames)  # Students move.


def test_lesson_pose_states_squash_the_faces(faces):
  realism = dataclasses.replace(QUIET, down_share=0.4, turned_share=0.4)
  poses = collections.Counter()
  for _, truth in _lesson(faces, num_students=25, num_frames=150, seed=2, fps=15,
                          realism=realism, teacher=False):
    for s in truth["students"]:
      x0, y0, x1, y1 = s["box"]
      w, h = x1 - x0, y1 - y0
      poses[s["pose"]] += 1
      if s["pose"] == "down":  # Writing: the face shorter than wide.
        assert h < w
      elif s["pose"] == "turned":
        assert w < h
      else:  # Frontal, or at most easing into or out of a pose.
        assert min(w, h) >= 0.85 * max(w, h)
  assert poses["down"] > 100 and poses["turned"] > 100 and poses["frontal"] > 100
  quiet = _lesson(faces, num_students=25, num_frames=20, seed=2, realism=QUIET)
  assert {s["pose"] for _, t in quiet for s in t["students"]} == {"frontal"}


def test_lesson_neighbours_occlude_faces(faces):
  realism = dataclasses.replace(QUIET, lean_share=0.3, arm_share=0.3)
  fractions = [s["occluded_fraction"] for _, t in
               _lesson(faces, num_students=30, num_frames=150, seed=5, fps=15,
                       realism=realism, teacher=False) for s in t["students"]]
  partly = [f for f in fractions if 0.1 < f < 0.5]
  assert len(partly) > 20  # Leaning heads and raised arms cover faces behind them.
  assert max(fractions) > 0.3
  calm = [s["occluded_fraction"] for _, t in
          _lesson(faces, num_students=30, num_frames=20, seed=5, realism=QUIET,
                  teacher=False) for s in t["students"]]
  assert max(calm) == 0.0


def test_lesson_teacher_hides_the_front_row_and_has_a_face(faces):
  frames = _lesson(faces, num_students=30, num_frames=120, seed=6, fps=15, realism=QUIET,
                   teacher_start=10, teacher_speed=12)
  hidden_ids, teacher_seen = set(), 0
  for frame, truth in frames:
    teacher = truth["teacher"]
    if truth["frame"] < 10:
      assert teacher is None and truth["teacher_box"] is None
    if teacher is not None:
      assert teacher["id"] == 31 and teacher["teacher"] is True
      assert teacher["size"] == 42
      teacher_seen += teacher["visible"]
    for s in truth["students"]:
      if s["occluded_fraction"] == 1.0:
        x0, y0, x1, y1 = s["box"]
        assert (frame[y0:y1, x0:x1] == TEACHER_BGR).all()  # Under the teacher's coat.
      if not s["visible"]:
        hidden_ids.add(s["id"])
  assert teacher_seen > 20
  assert set(range(25, 31)) <= hidden_ids  # The front row of 6.


def test_lesson_teacher_walks_at_a_walking_pace(faces):
  frames = _lesson(faces, num_students=25, num_frames=40, seed=6, fps=30, realism=QUIET,
                   teacher_start=0)
  lefts = [t["teacher_box"][0] for _, t in frames if t["teacher_box"]]
  steps = np.diff([x for x in lefts if x > 0])  # Once the whole body is in the frame.
  assert len(steps) > 10
  np.testing.assert_allclose(steps, classroom.TEACHER_WALK * 640 / 30, atol=1)


def test_lesson_lighting_drifts_and_flickers(faces):
  def wall(realism):
    frames = _lesson(faces, num_students=25, num_frames=90, seed=7, fps=3,  # 30 s.
                     realism=realism, teacher=False)
    return np.array([f[:60].reshape(-1, 3).mean(0) for f, _ in frames])  # Above the rows.
  quiet = wall(QUIET)
  np.testing.assert_array_equal(quiet, np.broadcast_to(quiet[0], quiet.shape))
  lit = wall(classroom.Realism(flicker_every_s=1.0))
  brightness = lit.mean(1)
  assert brightness.min() < 0.8 * np.median(brightness)  # A flicker.
  assert np.ptp(lit[:, 0] / lit[:, 2]) > 0.02  # Colour drifts.


def test_lesson_camera_noise_is_per_frame_and_reproducible(faces):
  def frames(realism, seed=7):
    return [f[:60] for f, _ in _lesson(faces, num_students=10, num_frames=3, seed=seed,
                                       fps=10, realism=realism, teacher=False)]  # The wall.
  noisy = frames(dataclasses.replace(QUIET, sensor_noise=3.0))
  quiet = frames(QUIET)
  np.testing.assert_array_equal(quiet[0], quiet[1])  # A still wall, no noise.
  difference = noisy[1].astype(np.float32) - noisy[0]
  assert 3.0 < difference.std() < 5.0  # Two frames' noise: sqrt(2) x 3 grey levels.
  assert abs(float((noisy[0].astype(np.float32) - quiet[0]).mean())) < 0.5
  np.testing.assert_array_equal(noisy[2], frames(dataclasses.replace(QUIET,
                                                                     sensor_noise=3.0))[2])


def test_lecture_photo(faces):
  image, truth = classroom.lecture_photo(*faces, seed=1)
  assert image.shape == (2256, 4000, 3) and image.dtype == np.uint8
  students = truth["students"]
  assert len(students) == 24 and truth["teacher"] is None
  sizes = [s["size"] for s in students]
  assert min(sizes) == 60 and max(sizes) == 140
  assert all(s["visible"] and s["occluded_fraction"] == 0.0 and s["pose"] == "frontal"
             for s in students)
  for a, b in itertools.combinations([s["box"] for s in students], 2):
    assert min(a[2], b[2]) <= max(a[0], b[0]) or min(a[3], b[3]) <= max(a[1], b[1])


def test_lesson_too_many_students_rejected(faces):
  with pytest.raises(ValueError, match="do not fit"):
    next(classroom.lesson(*faces, num_students=200))


# Distractors of the realistic lesson.


def test_lesson_distractors_listed_inside_the_frame_with_kinds(faces):
  frames = _lesson(faces, num_students=30, num_frames=45, seed=1, fps=15,
                   realism=dataclasses.replace(classroom.Realism(), rest_share=0.3))
  kinds = collections.Counter()
  static = None
  for frame, truth in frames:
    people = {s["id"] for s in truth["students"]} | {31}
    ids = [d["id"] for d in truth["distractors"]]
    assert len(ids) == len(set(ids)) and not people & set(ids)
    for d in truth["distractors"]:
      assert d["kind"] in classroom.DISTRACTOR_KINDS
      x0, y0, x1, y1 = d["box"]
      assert 0 <= x0 < x1 <= 640 and 0 <= y0 < y1 <= 480
      assert max(x1 - x0, y1 - y0) <= 60  # No bigger than twice the largest face.
      assert 0.0 <= d["occluded_fraction"] <= 1.0
      assert d["visible"] == (d["occluded_fraction"] < 0.5)
      kinds[d["kind"]] += 1
    # Props stay where they are; hands come and go.
    props = [(d["id"], d["kind"], d["box"]) for d in truth["distractors"]
             if d["kind"] in STATIC_KINDS]
    assert static is None or props == static
    static = props
  assert set(kinds) == set(classroom.DISTRACTOR_KINDS)
  per_frame = collections.Counter(kind for _, kind, _ in static)
  assert per_frame["bag"] >= 3 and per_frame["paper"] >= 5 and per_frame["pencil_case"] >= 2
  assert per_frame["printed_face"] >= 2
  assert kinds["hand"] > 45  # Heads resting in hands, and raised hands.


def test_lesson_distractors_follow_the_seed_and_switch_off(faces):
  def props(seed, num_frames=3, **kwargs):
    return [t["distractors"] for _, t in _lesson(faces, num_students=30, seed=seed,
                                                 num_frames=num_frames, **kwargs)]
  assert props(4) == props(4)
  assert props(4)[0] != props(5)[0]
  assert props(4, num_frames=30)[0] == props(4)[0]  # The room does not depend on the length.
  off = _lesson(faces, num_students=30, num_frames=20, seed=4,
                realism=classroom.Realism(distractors=False))
  assert all(t["distractors"] == [] for _, t in off)
  # Off, the simple rendering and the still photo list none either.
  assert all(t["distractors"] == [] for _, t in _run(faces, num_students=5, num_frames=2))
  assert classroom.lecture_photo(*faces, seed=1)[1]["distractors"] == []


def test_poster_region_covers_every_printed_face_and_no_student(faces):
  _, truth = next(iter(_lesson(faces, num_students=30, num_frames=1, seed=3)))
  x0, y0, x1, y1 = classroom.poster_region(truth, 640, 480)
  centre_in = lambda b: x0 <= (b[0] + b[2]) / 1280 <= x1 and y0 <= (b[1] + b[3]) / 960 <= y1
  printed = [d["box"] for d in truth["distractors"] if d["kind"] == "printed_face"]
  assert printed and all(centre_in(box) for box in printed)
  assert not any(centre_in(s["box"]) for s in truth["students"])
  _, bare = next(iter(_lesson(faces, num_students=5, num_frames=1, seed=3,
                              realism=classroom.Realism(distractors=False))))
  assert classroom.poster_region(bare, 640, 480) is None


def test_lesson_distractors_drawn_where_the_truth_says(faces):
  kwargs = {"num_students": 30, "num_frames": 60, "seed": 2, "fps": 15}
  realism = dataclasses.replace(classroom.Realism(), rest_share=0.3)
  on = _lesson(faces, realism=realism, **kwargs)
  off = _lesson(faces, realism=dataclasses.replace(realism, distractors=False), **kwargs)
  checked = collections.Counter()
  for (image_on, truth_on), (image_off, truth_off) in zip(on, off):
    changed = (image_on != image_off).any(axis=2)
    assert changed.any()
    for d in truth_on["distractors"]:
      if d["visible"]:
        x0, y0, x1, y1 = d["box"]
        assert changed[y0:y1, x0:x1].mean() > 0.25, d
        checked[d["kind"]] += 1
    # The same students in the same places; a face changes only where the truth
    # says something covers more of it.
    for a, b in zip(truth_on["students"], truth_off["students"]):
      assert (a["id"], a["box"], a["pose"], a["label"]) == (b["id"], b["box"], b["pose"],
                                                            b["label"])
      x0, y0, x1, y1 = a["box"]
      if a["occluded_fraction"] == b["occluded_fraction"]:
        assert not changed[y0:y1, x0:x1].any()
      else:
        assert a["occluded_fraction"] > b["occluded_fraction"]
  assert set(checked) == set(classroom.DISTRACTOR_KINDS)


def test_lesson_hands_partly_cover_faces(faces):
  realism = dataclasses.replace(QUIET, distractors=True, rest_share=0.5)
  frames = _lesson(faces, num_students=30, num_frames=150, seed=3, fps=15, realism=realism,
                   teacher=False)
  covered = []
  for _, truth in frames:
    hands = [d["box"] for d in truth["distractors"] if d["kind"] == "hand"]
    for s in truth["students"]:
      x0, y0, x1, y1 = s["box"]
      if any(min(x1, h[2]) > max(x0, h[0]) and min(y1, h[3]) > max(y0, h[1]) for h in hands):
        covered.append(s["occluded_fraction"])
      else:
        assert s["occluded_fraction"] == 0.0  # Nothing else covers a face here.
  assert len(covered) > 200
  assert np.median(covered) > 0.05  # A hand hides part of the face...
  assert np.mean(np.array(covered) < 0.5) > 0.9  # ...which mostly stays visible.


def test_lesson_printed_faces_on_a_poster(faces):
  images, _ = faces
  frame, truth = _lesson(faces, num_students=30, num_frames=1, seed=6)[0]
  printed = [d["box"] for d in truth["distractors"] if d["kind"] == "printed_face"]
  students_top = min(s["box"][1] for s in truth["students"])
  assert len(printed) >= 2
  assert len({(x1 - x0, y1 - y0) for x0, y0, x1, y1 in printed}) == 1  # One print size.
  size = printed[0][2] - printed[0][0]
  assert printed[0][3] - printed[0][1] == size and 12 <= size <= 30
  gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY).astype(np.float32)
  matches = []
  for x0, y0, x1, y1 in printed:
    assert y1 < students_top  # On the wall above the back row.
    crop = cv2.resize(gray[y0:y1, x0:x1], (48, 48), interpolation=cv2.INTER_LINEAR)
    scores = [np.corrcoef(crop.ravel(), f.astype(np.float32).ravel())[0, 1] for f in images]
    best = int(np.argmax(scores))
    assert scores[best] > 0.8  # A real face of the pool...
    small = cv2.resize(images[best], (size, size), interpolation=cv2.INTER_AREA)
    assert gray[y0:y1, x0:x1].std() < 0.9 * small.std()  # ...printed paler.
    matches.append(best)
  assert len(set(matches)) == len(matches)
