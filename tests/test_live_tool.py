"""tools/live.py end to end: real clips, a synthetic classroom, and user mistakes."""

import collections
import csv
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from ferjax.data import npz
from ferjax.faces.geometry import centre_inside
from ferjax.labels import EMOTIONS
from ferjax.synthetic import classroom

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MEDIA = os.path.join(ROOT, "..", "shared", "media")
FER_DIR = os.path.join(ROOT, "..", "shared", "datasets", "fer2013")
needs_media = pytest.mark.skipif(not os.path.isdir(MEDIA), reason="../shared/media absent")
needs_fer = pytest.mark.skipif(not os.path.isfile(os.path.join(FER_DIR, "fer2013.tar.gz")),
                               reason="real FER2013 archive absent")


def _live(*args, **kwargs):
  return subprocess.run([sys.executable, os.path.join(ROOT, "tools", "live.py"), *args],
                        capture_output=True, text=True, cwd=ROOT, **kwargs)


def _summary(out):
  with open(os.path.join(out, "summary.json")) as f:
    return json.load(f)


@needs_media
def test_classroom_clip_finds_and_tracks_the_four_people(exported_model_dir, tmp_path):
  out = tmp_path / "session"
  result = _live("--source", os.path.join(MEDIA, "classroom.gif"), "--headless",
                 "--model", exported_model_dir, "--out", str(out),
                 "--output", str(tmp_path / "annotated.avi"))
  assert result.returncode == 0, result.stderr[-3000:]
  summary = _summary(out)
  assert len(summary["students"]) == 4  # 4 people, no ID switches
  for student in summary["students"]:
    assert student["seconds_visible"] > 0.8 * summary["session"]["duration_s"]
    assert student["dominant_emotion"]
  with open(out / "frames.csv") as f:
    rows = list(csv.DictReader(f))
  assert {r["track_id"] for r in rows} == {str(s["id"]) for s in summary["students"]}
  # The faces of the first frame are reported at once, then in every frame.
  assert {int(r["frame"]) for r in rows} == set(range(45))
  assert not (out / "faces").exists()  # no face images unless --save-faces
  for name in ("class_timeline.png", "students_heatmap.png", "report.html"):
    assert (out / name).stat().st_size > 0
  annotated = classroom.cv2.VideoCapture(str(tmp_path / "annotated.avi"))
  assert int(annotated.get(classroom.cv2.CAP_PROP_FRAME_COUNT)) == 45


@needs_fer
def test_synthetic_classroom_every_student_found_with_stable_ids(exported_model_dir,
                                                                 fer2013_test_faces, tmp_path):
  faces, labels = fer2013_test_faces
  frames, truths = [], []
  for frame, truth in classroom.generate(faces[:400], labels[:400], num_students=5,
                                         num_frames=60, seed=3, fps=15.0):
    frames.append(frame)
    truths.append(truth)
  video_path = str(tmp_path / "lesson.avi")
  classroom.write_video(video_path, frames, 15.0)
  out = tmp_path / "session"
  result = _live("--source", video_path, "--headless", "--model", exported_model_dir,
                 "--out", str(out))
  assert result.returncode == 0, result.stderr[-3000:]
  # Match each logged box to the ground-truth student whose face holds its centre.
  tracks_of_student = collections.defaultdict(set)
  with open(out / "frames.csv") as f:
    for row in csv.DictReader(f):
      truth = truths[int(row["frame"])]["students"]
      box = tuple(float(row[k]) for k in ("x0", "y0", "x1", "y1"))
      owners = [s["id"] for s in truth if centre_inside(box, s["box"])]
      assert len(owners) == 1, f"frame {row['frame']}: a logged face that is no student"
      tracks_of_student[owners[0]].add(int(row["track_id"]))
  assert len(tracks_of_student) == 5  # every student found
  id_switches = sum(len(ids) - 1 for ids in tracks_of_student.values())
  assert id_switches == 0


@needs_fer
def test_shipped_model_reads_the_students_dominant_emotions(fer2013_npz, tmp_path):
  """Each synthetic student shows one FER2013 test face; compare per-student dominant
  emotions from the session summary with the face's FER+ crowd label (the shipped model's
  target; chance is about 1 in 7)."""
  ferplus = npz.load_split(fer2013_npz, "test", "ferplus")
  keep = ferplus["label"] < len(EMOTIONS)  # Contempt is not one of the 7.
  faces, labels = ferplus["image"][keep][..., 0], ferplus["label"][keep]
  truths, frames = [], []
  for frame, truth in classroom.generate(faces, labels, num_students=12, num_frames=45,
                                         seed=11, fps=15.0, teacher=False):
    frames.append(frame)
    truths.append(truth)
  video_path = str(tmp_path / "lesson.avi")
  classroom.write_video(video_path, frames, 15.0)
  out = tmp_path / "session"
  result = _live("--source", video_path, "--headless", "--out", str(out))  # shipped model
  assert result.returncode == 0, result.stderr[-3000:]
  emotion_of = {s["id"]: s["emotion"] for s in truths[0]["students"]}
  # Map track ids to students through frames.csv (box centre inside the true box).
  student_of_track = {}
  with open(out / "frames.csv") as f:
    for row in csv.DictReader(f):
      box = tuple(float(row[k]) for k in ("x0", "y0", "x1", "y1"))
      for s in truths[int(row["frame"])]["students"]:
        if centre_inside(box, s["box"]):
          student_of_track[int(row["track_id"])] = s["id"]
  summary = _summary(out)
  matches = [emotion_of[student_of_track[s["id"]]] == s["dominant_emotion"]
             for s in summary["students"] if s["id"] in student_of_track]
  assert len(matches) >= 6  # most students found (some FER2013 faces defeat any detector)
  assert sum(matches) / len(matches) >= 0.4, matches


@needs_media
def test_save_faces_stores_one_crop_per_face_read(exported_model_dir, tmp_path):
  """--save-faces on real faces: faces/<track>/<frame>.png for every face read (a row of
  frames.csv with probabilities; each face is read every other frame)."""
  out = tmp_path / "s"
  result = _live("--source", os.path.join(MEDIA, "classroom.gif"), "--headless",
                 "--model", exported_model_dir, "--out", str(out), "--save-faces",
                 "--max_frames", "12")
  assert result.returncode == 0, result.stderr[-3000:]
  with open(out / "frames.csv") as f:
    rows = list(csv.DictReader(f))
  logged = {(int(r["track_id"]), int(r["frame"])) for r in rows}
  read = {(int(r["track_id"]), int(r["frame"])) for r in rows if r["p_happy"]}
  saved = {(int(track.name), int(os.path.splitext(crop.name)[0]))
           for track in (out / "faces").iterdir() for crop in track.iterdir()}
  assert len({track for track, _ in logged}) == 4  # The four people of the clip.
  assert saved == read and len(read) < len(logged)  # One crop per face read.
  assert {track for track, _ in saved} == {track for track, _ in logged}
  track, frame = min(saved)
  crop = classroom.cv2.imread(str(out / "faces" / f"{track:04d}" / f"{frame:07d}.png"),
                              classroom.cv2.IMREAD_UNCHANGED)
  assert crop.shape == (48, 48)


def test_sigterm_still_writes_the_summary(exported_model_dir, tmp_path):
  faces = np.random.default_rng(1).integers(0, 256, (4, 48, 48), np.uint8)
  folder = tmp_path / "frames"
  folder.mkdir()
  for i, (frame, _) in enumerate(classroom.generate(faces, np.zeros(4, int), num_students=1,
                                                    num_frames=3, seed=0, teacher=False)):
    classroom.cv2.imwrite(str(folder / f"{i:03d}.png"), frame)
  # A long source: the same frames many times over, via a symlinked folder of copies.
  for i in range(3, 3000):
    os.symlink(folder / f"{i % 3:03d}.png", folder / f"{i:04d}.png")
  out = tmp_path / "s"
  process = subprocess.Popen(
      [sys.executable, os.path.join(ROOT, "tools", "live.py"), "--source", str(folder),
       "--headless", "--model", exported_model_dir, "--detector", "haar", "--out", str(out)],
      cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
  deadline = time.monotonic() + 120
  while not (out / "frames.csv").exists() and time.monotonic() < deadline:
    time.sleep(0.2)
  time.sleep(1.0)
  process.send_signal(signal.SIGTERM)
  stdout, stderr = process.communicate(timeout=120)
  assert process.returncode == 0, stderr[-3000:]
  assert "writing the session summary" in stderr
  summary = _summary(out)
  assert 0 < summary["session"]["frames"] < 3000


@pytest.mark.parametrize("args, message", [
    (["--source", "7"], "no camera found at index 7"),
    (["--source", "/nonexistent/lecture.mp4"], "no such file or folder"),
    (["--detector", "yolo"], "unknown face detector"),
    (["--ignore", "0.5,0.5,0.2,1"], "fractions of the frame"),
    (["--verifier", "/nonexistent/model"], "--verifier"),
    (["--camera_size", "hd"], "--camera_size 'hd': expected WIDTHxHEIGHT"),
])
def test_user_mistakes_give_one_line_errors(exported_model_dir, tmp_path, args, message):
  result = _live(*args, "--headless", "--model", exported_model_dir, "--out",
                 str(tmp_path / "s"))
  assert result.returncode == 2
  assert message in result.stderr and "Traceback" not in result.stderr


def test_missing_model_is_reported(tmp_path):
  result = _live("--model", str(tmp_path / "nothing"), "--headless")
  assert result.returncode == 2
  assert "not a folder" in result.stderr and "Traceback" not in result.stderr
