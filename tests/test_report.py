"""The session report: its words, its numbers against summary.json, photos, times."""

import datetime
import json
import os

import cv2
import numpy as np
import pytest

from ferjax.labels import EMOTIONS
from ferjax.live import recorder as recorder_lib
from ferjax.live import sources
from ferjax.live import wording

P_HAPPY = np.array([0.05, 0.0, 0.05, 0.7, 0.1, 0.0, 0.1])
P_NEUTRAL = np.array([0.0, 0.0, 0.0, 0.2, 0.2, 0.0, 0.6])


def _bin(start, end, **share):
  full = {label: 0.0 for label in EMOTIONS + ("uncertain", "too_small")}
  full.update(share)
  return {"start_s": start, "end_s": end, "share": full}


def test_clock_reads_as_minutes_and_seconds():
  assert [wording.clock(s) for s in (0, 9.6, 190, 3725)] == ["0:00", "0:10", "3:10",
                                                              "1:02:05"]


def test_sentence_names_the_usual_mood_and_the_stretch_that_stood_out():
  timeline = [_bin(t, t + 10, neutral=0.9, happy=0.1) for t in range(0, 190, 10)]
  timeline += [_bin(t, t + 10, neutral=0.4, happy=0.6) for t in (190, 200, 210)]
  timeline += [_bin(t, t + 10, neutral=0.9, happy=0.1) for t in range(220, 300, 10)]
  share = {"neutral": 0.8, "happy": 0.16, "uncertain": 0.04}
  assert (wording.mood_sentence(EMOTIONS, share, timeline)
          == "Mostly neutral; happier from 3:10 to 3:40.")
  assert wording.mood_sentence(EMOTIONS, {"uncertain": 1.0}, timeline) == (
      "No emotion could be read.")
  steady = [_bin(t, t + 10, sad=0.6, neutral=0.4) for t in range(0, 60, 10)]
  assert wording.mood_sentence(EMOTIONS, {"sad": 0.6, "neutral": 0.4}, steady) == (
      "Mostly sad throughout.")
  assert wording.unreadable_sentence({"uncertain": 0.09, "too_small": 0.03}) == (
      "Not readable: 12% of the visible time (uncertain 9%, too small 3%).")


def _lesson(recorder, seconds=60):
  """1 fps. Student 1 always happy; student 2 uncertain 54 s of 60 (neutral after);
  student 3 seen once, for half a second."""
  for t in range(seconds):
    entries = [recorder_lib.Entry(1, (0, 0, 40, 40), P_HAPPY, "happy"),
               recorder_lib.Entry(2, (50, 0, 90, 40), P_NEUTRAL,
                                  "uncertain" if t < 54 else "neutral")]
    recorder.log(float(t), t, entries)
    if t == 10:
      recorder.log(10.5, 1000, entries + [recorder_lib.Entry(3, (100, 0, 140, 40), P_HAPPY)])


def test_report_numbers_are_the_summarys_and_agree_with_the_chart(tmp_path):
  recorder = recorder_lib.SessionRecorder(
      tmp_path, EMOTIONS, bin_seconds=10, min_seconds_visible=1.0,
      recording={"name": "lesson.mp4", "kind": "video",
                 "ended_at": "2026-12-01T10:45:00+01:00", "time_basis": "the file's time"})
  _lesson(recorder)
  summary = recorder.close()
  students = {s["id"]: s for s in summary["students"]}
  assert sorted(students) == [1, 2]  # Student 3 (0.5 s) is not listed ...
  assert summary["session"]["tracks_dropped"] == 1
  assert students[2]["dominant_state"] == "uncertain"  # ... nor hidden as "neutral".
  assert students[2]["dominant_emotion"] == "neutral"
  # The chart's per-bin shares, weighted by the time in each bin, are the table's.
  timeline = summary["class"]["timeline"]
  weights = np.array([b["mean_students"] * (b["end_s"] - b["start_s"]) for b in timeline])
  for label, value in summary["class"]["emotion_share"].items():
    from_bins = sum(w * b["share"][label] for w, b in zip(weights, timeline)) / weights.sum()
    assert from_bins == pytest.approx(value, abs=1e-4), label
  recording = summary["session"]["recording"]
  assert recording["started_at"] == "2026-12-01T10:44:00+01:00"  # End minus 60 s.
  page = (tmp_path / "report.html").read_text()
  assert "Tue 1 Dec 2026, 10:44–10:45" in page and "the file&#x27;s time" in page
  assert summary["class"]["in_words"]["mood"] in page.replace("&#x27;", "'")
  assert "1 more faces were visible for under 1 s" in page
  assert "<td>#3</td>" not in page and "<td>#2</td>" in page
  assert "name='viewport'" in page and "href='frames.csv'" in page
  assert "/tmp" not in page and str(tmp_path) not in page
  for label, value in summary["class"]["emotion_share"].items():
    assert f"{100 * value:.0f}%" in page


def test_a_recording_time_without_its_basis_still_makes_a_report(tmp_path):
  recorder = recorder_lib.SessionRecorder(
      tmp_path, EMOTIONS, recording={"name": "x.mp4", "started_at": "2026-12-01T09:00:00"})
  recorder.log(0.0, 0, [recorder_lib.Entry(1, (0, 0, 40, 40), P_HAPPY, "happy")])
  recorder.close()
  assert recorder.unwritten == {}
  assert "Tue 1 Dec 2026, 09:00–09:00" in (tmp_path / "report.html").read_text()


def test_photo_sessions_speak_of_photos_and_faces(tmp_path):
  recorder = recorder_lib.SessionRecorder(tmp_path, EMOTIONS, photos=True,
                                          recording={"name": "trip", "kind": "photos"})
  recorder.log(0.0, 0, [recorder_lib.Entry(1, (0, 0, 40, 40), P_HAPPY, "happy"),
                        recorder_lib.Entry(2, (50, 0, 90, 40), P_HAPPY, "happy")],
               name="a.jpg")
  recorder.log(0.04, 1, [recorder_lib.Entry(3, (0, 0, 40, 40), P_NEUTRAL, "neutral")],
               name="b.jpg")
  summary = recorder.close()
  assert summary["photos"] == [
      {"index": 0, "name": "a.jpg", "faces": 2, "labels": {"happy": 2}},
      {"index": 1, "name": "b.jpg", "faces": 1, "labels": {"neutral": 1}}]
  assert summary["class"]["in_words"]["mood"] == "3 faces in 2 photos; happy most often (2 of 3)."
  page = (tmp_path / "report.html").read_text()
  assert "Photo report" in page and "a.jpg" in page and "duration" not in page
  assert not (tmp_path / "class_timeline.png").exists()  # No time, no time plots.
  assert set(summary["session"]["files"]) == {"frames_csv", "summary_json", "report_html"}


def test_sources_say_when_the_recording_was_made(tmp_path):
  video = str(tmp_path / "lesson.avi")
  writer = cv2.VideoWriter(video, cv2.VideoWriter_fourcc(*"MJPG"), 10, (64, 48))
  for _ in range(3):
    writer.write(np.zeros((48, 64, 3), np.uint8))
  writer.release()
  when = datetime.datetime(2026, 11, 30, 9, 15, tzinfo=datetime.timezone.utc)
  os.utime(video, (when.timestamp(), when.timestamp()))
  facts = sources.open_source(video).recording()
  assert facts["name"] == "lesson.avi" and facts["kind"] == "video"
  assert datetime.datetime.fromisoformat(facts["ended_at"]) == when
  assert "modification time" in facts["time_basis"]
  assert sources.open_source("demo").recording()["kind"] == "demo"
  folder = tmp_path / "photos"
  folder.mkdir()
  cv2.imwrite(str(folder / "x.png"), np.zeros((8, 8, 3), np.uint8))
  assert sources.open_source(str(folder), photos=True).recording() == {
      "name": "photos", "kind": "photos"}


def test_summary_json_documents_every_key(tmp_path):
  """The schema in ferjax.live.summary names every key a session writes."""
  from ferjax.live import summary as summary_lib  # pylint: disable=g-import-not-at-top
  recorder = recorder_lib.SessionRecorder(tmp_path, EMOTIONS, bin_seconds=10)
  _lesson(recorder, seconds=12)
  summary = json.loads((tmp_path / "summary.json").read_text()) if recorder.close() else {}
  schema = summary_lib.__doc__

  def keys(value):
    if isinstance(value, dict):
      for key, inner in value.items():
        if key not in EMOTIONS + ("uncertain", "too_small") and not key.endswith(
            ("_png", "_html", "_csv", "_json")):
          yield key
        yield from keys(inner)
    elif isinstance(value, list):
      for inner in value:
        yield from keys(inner)

  missing = sorted({k for k in keys(summary) if f'"{k}"' not in schema})
  assert not missing, missing
