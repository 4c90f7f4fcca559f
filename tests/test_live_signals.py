"""tools/live.py stopped by signals at any moment: files complete or absent, never lost."""

import csv
import json
import os
import signal
import subprocess
import sys
import threading
import time

import cv2
import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLIP = os.path.join(ROOT, "..", "shared", "media", "classroom.gif")
SESSION_FILES = ("frames.csv", "summary.json", "class_timeline.png",
                 "students_heatmap.png", "report.html")


@pytest.fixture(scope="module")
def long_source(tmp_path_factory):
  """A folder of 3,000 classroom frames: far longer than the tests let it run."""
  if not os.path.isfile(CLIP):
    pytest.skip("../shared/media absent")
  folder = tmp_path_factory.mktemp("frames")
  capture = cv2.VideoCapture(CLIP)
  count = 0
  while True:
    ok, frame = capture.read()
    if not ok:
      break
    cv2.imwrite(str(folder / f"{count:04d}.png"), frame)
    count += 1
  capture.release()
  for i in range(count, 3000):
    os.symlink(folder / f"{i % count:04d}.png", folder / f"{i:04d}.png")
  return str(folder)


class _Live:
  """tools/live.py in a subprocess, its output collected line by line as it comes."""

  def __init__(self, source, model, out, *extra):
    self.process = subprocess.Popen(
        [sys.executable, os.path.join(ROOT, "tools", "live.py"), "--source", source,
         "--headless", "--model", model, "--detector", "haar", "--out", str(out), *extra],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    self.stdout, self.stderr = [], []
    self._readers = [threading.Thread(target=self._read, args=(stream, lines), daemon=True)
                     for stream, lines in ((self.process.stdout, self.stdout),
                                           (self.process.stderr, self.stderr))]
    for reader in self._readers:
      reader.start()

  @staticmethod
  def _read(stream, lines):
    for line in stream:
      lines.append(line)

  def wait_for(self, lines, text, timeout=120):
    deadline = time.monotonic() + timeout
    while not any(text in line for line in lines):
      assert self.process.poll() is None or any(text in line for line in lines), (
          f"exited without {text!r}: {''.join(self.stderr)[-3000:]}")
      assert time.monotonic() < deadline, f"no {text!r} within {timeout} s"
      time.sleep(0.005)

  def finish(self, timeout=120):
    self.process.wait(timeout=timeout)
    for reader in self._readers:
      reader.join(timeout=10)
    return "".join(self.stdout), "".join(self.stderr)


def _wait_for_rows(out, timeout=60):
  """Waits until frames.csv holds data rows on disk (flushed)."""
  deadline = time.monotonic() + timeout
  while time.monotonic() < deadline:
    if (out / "frames.csv").exists() and len((out / "frames.csv").read_text().splitlines()) > 1:
      return
    time.sleep(0.05)
  raise AssertionError("frames.csv got no rows")


def _assert_complete_session(out):
  names = sorted(os.listdir(out))
  assert names == sorted(SESSION_FILES), names  # All there, no temporary files.
  summary = json.loads((out / "summary.json").read_text())
  assert summary["session"]["frames"] > 0
  for name in ("class_timeline.png", "students_heatmap.png"):
    data = (out / name).read_bytes()
    assert data.endswith(b"IEND\xaeB`\x82"), name  # Not cut short.
    assert cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR) is not None, name
  assert (out / "report.html").read_text().rstrip().endswith("</html>")
  with open(out / "frames.csv") as f:
    rows = list(csv.DictReader(f))
  assert len({r["frame"] for r in rows}) <= summary["session"]["frames"]
  return summary


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signals_while_the_files_are_written_let_them_finish(exported_model_dir,
                                                            long_source, tmp_path, signum):
  """One signal stops the session; a stream of them during the writing changes nothing."""
  out = tmp_path / "session"
  live = _Live(long_source, exported_model_dir, out)
  _wait_for_rows(out)
  live.process.send_signal(signum)
  live.wait_for(live.stderr, "stopping: writing the session summary")
  sent = 0
  while live.process.poll() is None and not any("frames in" in l for l in live.stdout):
    live.process.send_signal(signum)  # Ctrl-C pressed again and again, or kill repeated.
    sent += 1
    time.sleep(0.01)
  stdout, stderr = live.finish()
  assert sent > 0
  assert live.process.returncode == 0, stderr[-3000:]
  assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr, stderr[-3000:]
  assert "still writing the session files" in stderr
  assert "class mood" in stdout
  summary = _assert_complete_session(out)
  assert summary["session"]["frames"] < 3000


def test_signal_at_once_after_start_is_clean(exported_model_dir, long_source, tmp_path):
  """SIGTERM while the session is starting or just started: no traceback, no half files."""
  out = tmp_path / "session"
  live = _Live(long_source, exported_model_dir, out)
  live.wait_for(live.stdout, "session records")
  live.process.send_signal(signal.SIGTERM)
  _, stderr = live.finish()
  assert live.process.returncode == 0, stderr[-3000:]
  assert "Traceback" not in stderr
  names = set(os.listdir(out))
  assert names == set(SESSION_FILES), names
  summary = json.loads((out / "summary.json").read_text())
  assert summary["session"]["frames"] < 3000


def test_killed_session_keeps_its_rows_and_a_rerun_does_not_erase_them(
    exported_model_dir, long_source, tmp_path):
  out = tmp_path / "session"
  live = _Live(long_source, exported_model_dir, out)
  _wait_for_rows(out)
  time.sleep(1.5)  # frames.csv is flushed every second.
  live.process.send_signal(signal.SIGKILL)
  live.finish()
  survived = (out / "frames.csv").read_bytes()
  with open(out / "frames.csv") as f:
    rows = list(csv.DictReader(f))
  assert len({r["frame"] for r in rows}) > 1
  assert all(r["smoothed_label"] for r in rows)  # Whole rows only.
  assert not (out / "summary.json").exists()
  rerun = subprocess.run(
      [sys.executable, os.path.join(ROOT, "tools", "live.py"), "--source", long_source,
       "--headless", "--model", exported_model_dir, "--detector", "haar", "--out", str(out),
       "--max_frames", "3"], cwd=ROOT, capture_output=True, text=True, timeout=300)
  assert rerun.returncode == 2
  assert "already holds a session" in rerun.stderr and "new --out" in rerun.stderr
  assert "Traceback" not in rerun.stderr
  assert (out / "frames.csv").read_bytes() == survived
  assert sorted(os.listdir(out)) == ["frames.csv"]


def test_ctrl_c_during_a_slow_detection_stops_cleanly(exported_model_dir, long_source,
                                                      tmp_path):
  """CenterFace at 1920 px in the worker thread: the session still ends promptly, whole."""
  out = tmp_path / "s"
  live = _Live(long_source, exported_model_dir, out, "--detector", "centerface",
               "--max_side", "1920", "--detect_every", "1")
  _wait_for_rows(out)
  live.process.send_signal(signal.SIGINT)
  stopped = time.monotonic()
  stdout, stderr = live.finish()
  assert time.monotonic() - stopped < 30, "a running detection held the exit up"
  assert live.process.returncode == 0, stderr[-3000:]
  assert "writing the session summary" in stderr and "Traceback" not in stderr
  summary = _assert_complete_session(out)
  assert "students" in stdout and summary["students"]
