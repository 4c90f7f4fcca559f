"""Synthetic classroom -> tracker -> smoother -> session records, end to end.

The ground-truth boxes of visible students (with jitter and dropped frames)
stand in for the face detector and noisy one-hot vectors for the model, so
the test checks the bookkeeping: ids through occlusion, and the summary.
"""

import collections

import cv2
import numpy as np

from ferjax.synthetic import classroom

from ferjax.live import recorder as recorder_lib

from ferjax.live import smoothing

from ferjax.live import tracking
from ferjax.labels import EMOTIONS

FPS = 10.0


def test_ids_and_summary_through_a_synthetic_lesson(tmp_path):
  rng = np.random.default_rng(0)
  small = rng.integers(0, 256, (30, 6, 6), dtype=np.uint8)
  faces = np.stack([cv2.resize(f, (48, 48)) for f in small])
  labels = np.arange(30) % 7
  tracker = tracking.Tracker(iou_threshold=0.3, max_age=int(3 * FPS), min_hits=3)
  smoother = smoothing.EmotionSmoother(EMOTIONS, time_constant_s=1.0, min_age_s=0.5)
  recorder = recorder_lib.SessionRecorder(tmp_path, EMOTIONS, bin_seconds=5, plots=False)
  tracks_of_student = collections.defaultdict(set)
  truth_label = {}
  hidden_frames = 0
  for frame, truth in classroom.generate(faces, labels, num_students=15, num_frames=200,
                                         seed=1, fps=FPS, teacher_start=40,
                                         teacher_speed=10):
    visible = [s for s in truth["students"] if s["visible"] and rng.random() > 0.1]
    hidden_frames += sum(not s["visible"] for s in truth["students"])
    boxes = np.array([s["box"] for s in visible], np.float64).reshape(-1, 4)
    boxes += rng.normal(0, 1.0, boxes.shape)
    tracker.update(boxes)
    t = truth["frame"] / FPS
    entries = []
    for student, track_id in zip(visible, tracker.detection_ids):
      truth_label[student["id"]] = student["label"]
      if track_id < 0:
        continue
      tracks_of_student[student["id"]].add(int(track_id))
      probs = 0.6 * np.eye(7)[student["label"]] + 0.4 * rng.dirichlet(np.ones(7))
      smoothed = smoother.update(int(track_id), probs, t)
      entries.append(recorder_lib.Entry(int(track_id), student["box"], probs, smoothed.label))
    recorder.log(t, truth["frame"], entries)
    smoother.prune(tracker.active_ids)
  summary = recorder.close()

  assert hidden_frames > 0  # The teacher did hide the front row.
  assert len(tracks_of_student) == 15
  assert all(len(ids) == 1 for ids in tracks_of_student.values()), tracks_of_student
  assert tracker.num_ids == 15
  student_of_track = {next(iter(ids)): s for s, ids in tracks_of_student.items()}
  assert len(summary["students"]) == 15
  for record in summary["students"]:
    expected = EMOTIONS[truth_label[student_of_track[record["id"]]]]
    assert record["dominant_emotion"] == expected
    assert 10.0 < record["seconds_visible"] <= 20.0
  assert summary["session"]["duration_s"] == 20.0
