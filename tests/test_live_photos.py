"""tools/live.py on photos, on the built-in demo, and on a machine without a camera."""

import csv
import json
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest

from ferjax.live import sources

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _live(*args):
  return subprocess.run([sys.executable, os.path.join(ROOT, "tools", "live.py"), *args],
                        capture_output=True, text=True, cwd=ROOT, timeout=300)


def _rows(out):
  with open(os.path.join(out, "frames.csv")) as f:
    return list(csv.DictReader(f))


def _summary(out):
  with open(os.path.join(out, "summary.json")) as f:
    return json.load(f)


@pytest.fixture(scope="module")
def demo_photos(tmp_path_factory):
  """Two stills of the demo classroom (eight faces each), written as PNG photos."""
  folder = tmp_path_factory.mktemp("photos")
  for frame in sources.DemoSource(seconds=1.0):
    if frame.index in (0, 10):
      cv2.imwrite(str(folder / f"still{frame.index:02d}.png"), frame.image)
  return folder


def test_one_photo_reports_every_face_in_one_pass(demo_photos, tmp_path):
  photo = demo_photos / "still00.png"
  out, annotated = tmp_path / "s", tmp_path / "annotated.png"
  result = _live("--source", str(photo), "--headless", "--out", str(out),
                 "--output", str(annotated))
  assert result.returncode == 0, result.stderr[-3000:]
  rows = _rows(out)
  assert len(rows) >= 7  # No track confirmation: the faces of the single frame.
  assert {r["frame"] for r in rows} == {"0"}
  assert all(float(r["face_px"]) > 20 and float(r["score"]) >= 0.5 for r in rows)
  assert len(_summary(out)["students"]) == len(rows)
  assert f"still00.png: {len(rows)} faces" in result.stdout
  assert cv2.imread(str(annotated)).shape == cv2.imread(str(photo)).shape


def test_a_folder_of_photos_with_annotated_copies(demo_photos, tmp_path):
  out, copies = tmp_path / "s", tmp_path / "annotated"
  result = _live("--source", str(demo_photos), "--photos", "--headless", "--out", str(out),
                 "--output", str(copies))
  assert result.returncode == 0, result.stderr[-3000:]
  assert sorted(os.listdir(copies)) == ["still00.png", "still10.png"]
  ids = {}
  for r in _rows(out):
    ids.setdefault(r["frame"], set()).add(r["track_id"])
  assert set(ids) == {"0", "1"} and not ids["0"] & ids["1"]  # Unrelated photos.


def test_a_photo_is_seen_mirrored_too_unless_asked_not_to(demo_photos, tmp_path):
  photo = str(demo_photos / "still00.png")
  scores = {}
  for name, extra in (("both", []), ("one", ["--nomirror_photos"])):
    result = _live("--source", photo, "--headless", "--out", str(tmp_path / name), *extra)
    assert result.returncode == 0, result.stderr[-3000:]
    scores[name] = sorted(float(r["score"]) for r in _rows(tmp_path / name))
  assert len(scores["both"]) == len(scores["one"]) >= 7  # The same faces ...
  assert scores["both"] != scores["one"]  # ... each scored over two views, or one.


def test_faces_below_the_size_limit_are_too_small(demo_photos, tmp_path):
  """A photo of the demo class beside a half-size copy: faces of ~60 and ~30 px."""
  still = cv2.imread(str(demo_photos / "still00.png"))
  half = cv2.resize(still, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
  mixed = np.zeros((still.shape[0], still.shape[1] + half.shape[1], 3), np.uint8)
  mixed[:, :still.shape[1]] = still
  mixed[:half.shape[0], still.shape[1]:] = half
  photo = tmp_path / "mixed.png"
  cv2.imwrite(str(photo), mixed)
  out = tmp_path / "s"
  result = _live("--source", str(photo), "--headless", "--out", str(out),
                 "--too_small_px", "45")
  assert result.returncode == 0, result.stderr[-3000:]
  rows = _rows(out)
  small = [r for r in rows if float(r["face_px"]) < 45]
  assert small and len(small) < len(rows)  # The demo's faces span the limit.
  for r in rows:
    assert (r["smoothed_label"] == "too_small") == (r in small)
    assert (r["p_happy"] == "") == (r in small)
  summary = _summary(out)
  assert summary["class"]["emotion_share"]["too_small"] > 0
  assert summary["class"]["dominant_emotion"] != "too_small"
  assert summary["session"]["too_small_px"] == 45


def test_demo_source_runs_without_a_camera_or_data(tmp_path):
  out = tmp_path / "s"
  result = _live("--source", "demo", "--headless", "--out", str(out), "--max_frames", "45")
  assert result.returncode == 0, result.stderr[-3000:]
  summary = _summary(out)
  assert summary["session"]["frames"] == 45
  assert 5 <= len(summary["students"]) <= 10  # Eight generated students.
  assert "Grace Hopper" in summary["session"]["source"]


def test_no_camera_says_so_in_one_line_and_suggests_the_demo(tmp_path):
  result = _live("--source", "9", "--headless", "--out", str(tmp_path / "s"))
  assert result.returncode == 2
  assert result.stderr.strip().count("\n") == 0, result.stderr
  assert "no camera found at index 9" in result.stderr and "--source demo" in result.stderr
  assert not (tmp_path / "s").exists()
