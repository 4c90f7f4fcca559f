"""Tests for ferjax.live.recorder and ferjax.live.report."""

import csv
import json
import os

import numpy as np
import pytest

from ferjax.live import recorder as recorder_lib
from ferjax.live import time_totals
from ferjax.labels import EMOTIONS

P_HAPPY = np.array([0.05, 0.0, 0.05, 0.7, 0.1, 0.0, 0.1])
P_SAD = np.array([0.1, 0.0, 0.1, 0.0, 0.6, 0.0, 0.2])
P_NEUTRAL = np.array([0.0, 0.0, 0.0, 0.2, 0.2, 0.0, 0.6])
P_SURPRISE = np.array([0.0, 0.0, 0.2, 0.0, 0.0, 0.8, 0.0])


def _approx(expected):
  return pytest.approx(expected, abs=1e-6)  # The summary rounds to 6 decimals.


class FakeClock:

  def __init__(self):
    self.now = 0.0

  def __call__(self):
    return self.now


def _log_known_session(recorder):
  """20 frames, 0.5 s apart (t = 0 .. 9.5).

  Student 1: every frame; happy before t = 6, sad from t = 6.
  Student 2: t = 2.0 .. 3.5; uncertain for two frames, then neutral.
  Student 3: once, at t = 9.0, without a smoothed label (argmax: surprise).
  """
  for frame in range(20):
    t = 0.5 * frame
    entries = [recorder_lib.Entry(1, (10, 20, 50, 60), P_HAPPY if t < 6 else P_SAD,
                             "happy" if t < 6 else "sad")]
    if 2.0 <= t < 4.0:
      entries.append({"track_id": 2, "box": (100, 20, 140, 60), "probs": P_NEUTRAL,
                      "smoothed_label": "uncertain" if t < 3.0 else "neutral"})
    if t == 9.0:
      entries.append(recorder_lib.Entry(3, (200, 20, 240, 60), P_SURPRISE))
    recorder.log(t, frame, entries)


def test_summary_matches_hand_computation(tmp_path):
  recorder = recorder_lib.SessionRecorder(tmp_path, EMOTIONS, bin_seconds=5, plots=False,
                                     source="clip.mp4", model="m1")
  _log_known_session(recorder)
  summary = recorder.close()
  assert summary == json.loads((tmp_path / "summary.json").read_text())

  info = summary["session"]
  assert info["frames"] == 20
  assert info["duration_s"] == _approx(10.0)  # Last frame lasts 0.5 s too.
  assert info["fps"] == _approx(2.0)
  assert (info["source"], info["model"], info["bin_seconds"]) == ("clip.mp4", "m1", 5.0)
  assert info["images_stored"] is False

  s1, s2, s3 = summary["students"]
  assert [s["id"] for s in (s1, s2, s3)] == [1, 2, 3]
  assert s1["seconds_visible"] == _approx(10.0)
  assert s1["frames_visible"] == 20
  assert (s1["first_seen_s"], s1["last_seen_s"]) == (0.0, 9.5)
  assert s1["emotion_share"]["happy"] == _approx(0.6)  # 12 frames x 0.5 s.
  assert s1["emotion_share"]["sad"] == _approx(0.4)
  assert s1["dominant_emotion"] == "happy"
  expected_mean = 0.6 * P_HAPPY + 0.4 * P_SAD
  assert [s1["mean_probabilities"][e] for e in EMOTIONS] == _approx(expected_mean)
  # Bin 0 (0-5 s) all happy; bin 1: happy 1 s (t = 5, 5.5), sad 4 s.
  assert [(b["bin"], b["seconds"], b["dominant"]) for b in s1["timeline"]] == [
      (0, 5.0, "happy"), (1, 5.0, "sad")]
  assert [s1["timeline"][1]["mean_probabilities"][e] for e in EMOTIONS] == _approx(
      0.2 * P_HAPPY + 0.8 * P_SAD)

  assert s2["seconds_visible"] == _approx(2.0)
  assert (s2["first_seen_s"], s2["last_seen_s"]) == (2.0, 3.5)
  assert s2["emotion_share"]["uncertain"] == _approx(0.5)
  assert s2["emotion_share"]["neutral"] == _approx(0.5)
  assert s2["dominant_emotion"] == "neutral"  # Uncertain time is not a mood.

  assert s3["seconds_visible"] == _approx(0.5)
  assert s3["first_seen_s"] == s3["last_seen_s"] == 9.0
  assert s3["dominant_emotion"] == "surprise"
  assert s3["timeline"][0]["bin"] == 1

  cls = summary["class"]
  assert cls["student_seconds"] == _approx(12.5)
  expected_share = {"happy": 6 / 12.5, "sad": 4 / 12.5, "uncertain": 1 / 12.5,
                    "neutral": 1 / 12.5, "surprise": 0.5 / 12.5}
  for label in list(EMOTIONS) + ["uncertain"]:
    assert cls["emotion_share"][label] == _approx(expected_share.get(label, 0.0))
  assert sum(cls["emotion_share"].values()) == _approx(1.0)
  assert cls["dominant_emotion"] == "happy"
  t0, t1 = cls["timeline"]
  assert (t0["start_s"], t0["end_s"], t1["start_s"]) == (0.0, 5.0, 5.0)
  assert (t0["students_seen"], t1["students_seen"]) == (2, 2)
  assert t0["mean_students"] == _approx(7 / 5)  # (5 + 2) student-s / 5 s.
  assert t1["mean_students"] == _approx(5.5 / 5)
  expected_bin0 = (5 * P_HAPPY + 2 * P_NEUTRAL) / 7
  assert [t0["mean_probabilities"][e] for e in EMOTIONS] == _approx(expected_bin0)


def test_csv_rows_and_content(tmp_path):
  recorder = recorder_lib.SessionRecorder(tmp_path, EMOTIONS, plots=False)
  _log_known_session(recorder)
  recorder.close()
  with open(tmp_path / "frames.csv", newline="") as f:
    rows = list(csv.DictReader(f))
  assert len(rows) == 20 + 4 + 1
  assert list(rows[0]) == (["timestamp", "frame", "track_id", "x0", "y0", "x1", "y1",
                            "face_px", "score"]
                           + [f"p_{e}" for e in EMOTIONS] + ["smoothed_label"])
  row = next(r for r in rows if r["track_id"] == "3")
  assert (float(row["timestamp"]), int(row["frame"])) == (9.0, 18)
  assert [float(row[k]) for k in ("x0", "y0", "x1", "y1")] == [200, 20, 240, 60]
  assert [float(row[f"p_{e}"]) for e in EMOTIONS] == _approx(P_SURPRISE)
  assert row["smoothed_label"] == "surprise"
  labels = [r["smoothed_label"] for r in rows if r["track_id"] == "2"]
  assert labels == ["uncertain", "uncertain", "neutral", "neutral"]


def test_rows_flushed_before_close(tmp_path):
  clock = FakeClock()
  recorder = recorder_lib.SessionRecorder(tmp_path, EMOTIONS, plots=False, clock=clock,
                                     flush_interval_s=1.0)
  path = tmp_path / "frames.csv"

  def rows_on_disk():
    with open(path, newline="") as f:
      return len(list(csv.reader(f))) - 1

  recorder.log(0.0, 0, [recorder_lib.Entry(1, (0, 0, 9, 9), P_HAPPY)])
  clock.now = 0.5
  recorder.log(0.1, 1, [recorder_lib.Entry(1, (0, 0, 9, 9), P_HAPPY)])
  assert rows_on_disk() == 0  # Buffered: under a second of wall time.
  clock.now = 1.2
  recorder.log(0.2, 2, [recorder_lib.Entry(1, (0, 0, 9, 9), P_HAPPY)])
  assert rows_on_disk() == 3
  assert not recorder.closed
  recorder.close()


def test_close_is_idempotent_and_log_after_close_is_ignored(tmp_path):
  recorder = recorder_lib.SessionRecorder(tmp_path, EMOTIONS, plots=False)
  _log_known_session(recorder)
  first = recorder.close()
  csv_before = (tmp_path / "frames.csv").read_text()
  json_before = (tmp_path / "summary.json").read_text()
  recorder.log(20.0, 40, [recorder_lib.Entry(9, (0, 0, 9, 9), P_HAPPY)])
  assert recorder.close() is first
  assert (tmp_path / "frames.csv").read_text() == csv_before
  assert (tmp_path / "summary.json").read_text() == json_before


def test_close_during_log_is_deferred_to_its_end(tmp_path):
  recorder = recorder_lib.SessionRecorder(tmp_path, EMOTIONS, plots=False)
  recorder.log(0.0, 0, [recorder_lib.Entry(1, (0, 0, 9, 9), P_HAPPY)])

  def interrupted_entries():
    yield recorder_lib.Entry(1, (0, 0, 9, 9), P_HAPPY)
    assert recorder.close() is None  # As if called from a signal handler.
    yield recorder_lib.Entry(2, (20, 0, 29, 9), P_SAD)
    raise KeyboardInterrupt  # The handler may also raise.

  with pytest.raises(KeyboardInterrupt):
    recorder.log(1.0, 1, interrupted_entries())
  assert recorder.closed
  summary = json.loads((tmp_path / "summary.json").read_text())
  assert summary["session"]["frames"] == 1
  assert [s["id"] for s in summary["students"]] == [1]


def test_empty_session_writes_valid_summary_and_report(tmp_path):
  recorder = recorder_lib.SessionRecorder(tmp_path, EMOTIONS)
  summary = recorder.close()
  assert summary["students"] == []
  assert summary["class"]["timeline"] == []
  assert summary["class"]["emotion_share"]["happy"] == 0.0
  assert summary["class"]["dominant_emotion"] == "uncertain"
  assert summary["session"]["frames"] == 0
  assert summary["session"]["fps"] is None
  for name in ("summary.json", "frames.csv", "report.html", "class_timeline.png",
               "students_heatmap.png"):
    assert os.path.getsize(tmp_path / name) > 0, name
  assert "No students" in (tmp_path / "report.html").read_text()


def test_frames_without_students(tmp_path):
  recorder = recorder_lib.SessionRecorder(tmp_path, EMOTIONS, plots=False, bin_seconds=5)
  for frame in range(3):
    recorder.log(frame * 1.0, frame, [])
  summary = recorder.close()
  assert summary["session"]["duration_s"] == _approx(3.0)
  (only_bin,) = summary["class"]["timeline"]
  assert only_bin["students_seen"] == 0 and only_bin["mean_students"] == 0.0
  assert only_bin["mean_probabilities"] is None and only_bin["dominant"] is None


def test_one_frame_session(tmp_path):
  recorder = recorder_lib.SessionRecorder(tmp_path / "a", EMOTIONS, plots=False)
  recorder.log(3.0, 0, [recorder_lib.Entry(5, (0, 0, 9, 9), P_SAD, "sad")])
  (student,) = recorder.close()["students"]
  assert student["seconds_visible"] == 0.0  # No interval is known.
  assert student["emotion_share"]["sad"] == 1.0  # Falls back to frame counts.
  recorder = recorder_lib.SessionRecorder(tmp_path / "b", EMOTIONS, plots=False, fps=10)
  recorder.log(3.0, 0, [recorder_lib.Entry(5, (0, 0, 9, 9), P_SAD, "sad")])
  (student,) = recorder.close()["students"]
  assert student["seconds_visible"] == _approx(0.1)


def test_long_gaps_are_capped_and_short_tracks_dropped(tmp_path):
  recorder = recorder_lib.SessionRecorder(tmp_path, EMOTIONS, plots=False,
                                     max_frame_gap_s=1.0, min_seconds_visible=1.5)
  recorder.log(0.0, 0, [recorder_lib.Entry(1, (0, 0, 9, 9), P_HAPPY)])
  recorder.log(0.5, 1, [recorder_lib.Entry(1, (0, 0, 9, 9), P_HAPPY),
                        recorder_lib.Entry(2, (20, 0, 29, 9), P_SAD)])
  recorder.log(10.5, 2, [recorder_lib.Entry(1, (0, 0, 9, 9), P_HAPPY)])  # After a stall.
  summary = recorder.close()
  # Durations: 0.5, min(10, 1.0), and the last frame as long as the one before.
  assert summary["session"]["duration_s"] == _approx(2.5)
  assert [s["id"] for s in summary["students"]] == [1]
  assert summary["students"][0]["seconds_visible"] == _approx(2.5)
  assert summary["session"]["tracks_dropped"] == 1


def test_pictures_are_left_out_of_the_students_and_the_class(tmp_path):
  recorder = recorder_lib.SessionRecorder(tmp_path, EMOTIONS, plots=False)
  for k in range(20):
    recorder.log(k * 0.1, k, [recorder_lib.Entry(1, (0, 0, 9, 9), P_HAPPY),
                              recorder_lib.Entry(2, (20, 0, 29, 9), P_SAD)])
  recorder.verification = {"still_tracks": 1, "pictures": [2]}
  summary = recorder.close()
  assert [s["id"] for s in summary["students"]] == [1]
  assert summary["session"]["not_faces"]["pictures"] == [2]
  assert summary["session"]["tracks_dropped"] == 0
  assert summary["class"]["dominant_emotion"] == "happy"


def test_adaptive_bins(tmp_path):
  assert time_totals.choose_bin_seconds(10) == 1
  assert time_totals.choose_bin_seconds(200) == 5
  assert time_totals.choose_bin_seconds(3600) == 60
  recorder = recorder_lib.SessionRecorder(tmp_path, EMOTIONS, plots=False, max_bins=10)
  for frame in range(30):  # 30 s at 1 fps: 5 s bins.
    recorder.log(float(frame), frame, [recorder_lib.Entry(1, (0, 0, 9, 9), P_HAPPY)])
  summary = recorder.close()
  assert summary["session"]["bin_seconds"] == 5.0
  assert [b["seconds"] for b in summary["students"][0]["timeline"]] == [5.0] * 6
  assert len(summary["class"]["timeline"]) == 6


def test_invalid_entries_rejected_without_writing(tmp_path):
  recorder = recorder_lib.SessionRecorder(tmp_path, EMOTIONS, plots=False)
  with pytest.raises(ValueError, match="unknown label"):
    recorder.log(0.0, 0, [recorder_lib.Entry(1, (0, 0, 9, 9), P_HAPPY),
                          recorder_lib.Entry(2, (0, 0, 9, 9), P_HAPPY, "bored")])
  with pytest.raises(ValueError, match="twice"):
    recorder.log(0.0, 0, [recorder_lib.Entry(1, (0, 0, 9, 9), P_HAPPY)] * 2)
  with pytest.raises(ValueError, match="probabilities"):
    recorder.log(0.0, 0, [recorder_lib.Entry(1, (0, 0, 9, 9), [1.0])])
  recorder.close()
  assert len((tmp_path / "frames.csv").read_text().splitlines()) == 1


def test_report_lists_students_and_plots(tmp_path):
  recorder = recorder_lib.SessionRecorder(tmp_path, EMOTIONS, bin_seconds=5)
  _log_known_session(recorder)
  summary = recorder.close()
  files = summary["session"]["files"]
  assert files["report_html"] == "report.html"
  page = (tmp_path / "report.html").read_text()
  for name in ("class_timeline.png", "students_heatmap.png"):
    assert f"src='{name}'" in page
    assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
  for student_id in (1, 2, 3):
    assert f"<td>#{student_id}</td>" in page
  assert json.loads((tmp_path / "summary.json").read_text())["session"]["files"] == files


def test_too_small_faces_are_recorded_but_stay_out_of_the_mood(tmp_path):
  """A too-small face has a row (size, score, no probabilities) and time, but no emotion."""
  recorder = recorder_lib.SessionRecorder(tmp_path, EMOTIONS, plots=False, too_small_px=14)
  for i in range(10):
    recorder.log(i * 1.0, i, [
        recorder_lib.Entry(1, (0, 0, 40, 40), P_HAPPY, "happy", face_px=46.4, score=0.9),
        recorder_lib.Entry(2, (50, 0, 60, 10), None, "too_small", face_px=11.6, score=0.3),
    ])
  summary = recorder.close()
  with open(tmp_path / "frames.csv", newline="") as f:
    rows = list(csv.DictReader(f))
  small = [r for r in rows if r["track_id"] == "2"]
  assert len(small) == 10
  assert all(r["p_happy"] == "" and r["smoothed_label"] == "too_small" for r in small)
  assert (small[0]["face_px"], small[0]["score"]) == ("11.6", "0.300")
  cls = summary["class"]
  assert cls["emotion_share"]["too_small"] == _approx(0.5)
  assert cls["dominant_emotion"] == "happy"
  assert [cls["mean_probabilities"][e] for e in EMOTIONS] == _approx(P_HAPPY)
  student = next(s for s in summary["students"] if s["id"] == 2)
  assert student["dominant_emotion"] == "too_small"
  assert student["mean_probabilities"] is None
  assert student["face_px"] == _approx(11.6)
  assert summary["session"]["too_small_px"] == 14


def test_a_face_without_probabilities_needs_a_label(tmp_path):
  recorder = recorder_lib.SessionRecorder(tmp_path, EMOTIONS, plots=False)
  with pytest.raises(ValueError, match="no probabilities"):
    recorder.log(0.0, 0, [recorder_lib.Entry(1, (0, 0, 9, 9), None, None)])
