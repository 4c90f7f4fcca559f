"""The session report in headless Chromium at a phone's (390 px) and a laptop's (1280 px) width.

Sessions: a camera-style one (generated entries, 24 students, every label), and
through the live tool a video file, a photo folder and `--source demo`. Skipped,
saying why, where no Chromium is installed (`.ci/run` installs Debian's).
"""

import json
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest

from ferjax.labels import EMOTIONS
from ferjax.live import recorder as recorder_lib
from ferjax.live import report_check
from ferjax.live import sources

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHROMIUM = report_check.find_chromium()
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no Chromium to render the report (apt-get install chromium)")
WIDTHS = (390, 1280)


def _camera_style(folder) -> str:
  """A 3-minute camera session of 24 students with every label (generated entries)."""
  rng = np.random.default_rng(0)
  recorder = recorder_lib.SessionRecorder(
      folder, EMOTIONS, min_seconds_visible=1.0, too_small_px=14,
      recording={"name": "camera 0", "kind": "camera",
                 "started_at": "2026-12-04T08:30:00+01:00",
                 "time_basis": "this computer's clock"})
  labels = EMOTIONS + ("uncertain", "too_small")
  for t in range(180):
    entries = []
    for student in range(1, 25):
      label = labels[(student + t // 30) % len(labels)]
      probs = None if label == "too_small" else rng.dirichlet(np.ones(7))
      entries.append(recorder_lib.Entry(student, (student * 10, 0, student * 10 + 9, 9),
                                        probs, label))
    recorder.log(float(t), t, entries)
  recorder.close()
  return str(folder)


def _live(folder, *args) -> str:
  result = subprocess.run(
      [sys.executable, os.path.join(ROOT, "tools", "live.py"), "--headless",
       "--out", str(folder), *args], capture_output=True, text=True, timeout=600,
      check=False)
  assert result.returncode == 0, result.stderr[-1500:]
  return str(folder)


def _demo_frames(count: int) -> list[np.ndarray]:
  frames = []
  for frame in sources.DemoSource(seconds=count / 15):
    frames.append(frame.image)
  return frames


def _video_file(folder) -> str:
  """A video file (a name with spaces and brackets) through the live tool."""
  folder.mkdir()
  video = str(folder / "lesson (room 204, group B).avi")
  frames = _demo_frames(45)
  height, width = frames[0].shape[:2]
  writer = cv2.VideoWriter(video, cv2.VideoWriter_fourcc(*"MJPG"), 15, (width, height))
  for image in frames:
    writer.write(image)
  writer.release()
  return _live(folder / "session", "--source", video)


def _photo_folder(folder) -> str:
  photos = folder / "photos"
  photos.mkdir(parents=True)
  for i, image in enumerate(_demo_frames(31)[::10]):
    cv2.imwrite(str(photos / f"IMG_{i:04d}.jpg"), image)
  return _live(folder / "session", "--source", str(photos), "--photos")


BUILDERS = {"camera": _camera_style, "video": _video_file, "photos": _photo_folder,
            "demo": lambda folder: _live(folder, "--source", "demo", "--max_frames", "60")}


@pytest.mark.slow(25)
@pytest.mark.parametrize("kind", ["camera", "video", "photos", "demo"])
def test_report_reads_on_a_phone_and_a_laptop(kind, tmp_path):
  session = BUILDERS[kind](tmp_path / kind)
  if kind == "video":
    assert "lesson (room 204, group B).avi" in open(os.path.join(session, "report.html"),
                                                  encoding="utf-8").read()
  summary = json.loads(open(os.path.join(session, "summary.json"), encoding="utf-8").read())
  page = os.path.join(session, "report.html")
  for width in WIDTHS:
    facts = report_check.measure(CHROMIUM, page, width)
    assert facts["window_width"] == width
    assert facts["page_width"] <= width, f"sideways scrolling at {width} px: {facts}"
    assert facts["images_loaded"] == facts["images"], facts
    assert facts["images"] == (0 if kind == "photos" else 2)
    assert facts["smallest_text_px"] >= 12, facts
    assert summary["class"]["in_words"]["mood"] in facts["in_words"]
    # The class table shows the summary's shares (the chart plots the same numbers).
    shown = {row[0]: row[-1] for row in facts["class_table"]}
    for label, share in summary["class"]["emotion_share"].items():
      assert shown[label.replace("_", " ")] == f"{100 * share:.0f}%", (label, width)
  assert sorted(os.listdir(session)) == sorted(
      ["frames.csv", "summary.json", "report.html"]
      + ([] if kind == "photos" else ["class_timeline.png", "students_heatmap.png"]))
