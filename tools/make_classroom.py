"""Writes a synthetic classroom video and its ground truth (ferjax.synthetic.classroom).

    python tools/make_classroom.py --out /tmp/class15.mp4 --manual_dir ~/data/fer2013 \
        --num_students 15 --num_frames 300
    python tools/make_classroom.py --out class.avi --npz fer2013.npz --label_change_every 90
    python tools/make_classroom.py --out /tmp/lesson.mp4 --npz fer2013.npz --realistic \
        --num_students 30
    python tools/make_classroom.py --out /tmp/lecture.png --npz fer2013.npz --photo

Faces are FER2013 test faces, read from --npz or --manual_dir. --realistic renders
`classroom.lesson` (perspective rows of 12-30 px faces at 640x480, students
writing, turning, leaning and raising arms, drifting light, a teacher with a
face); --photo writes one still lecture photo (`classroom.lecture_photo`:
4000x2256, 24 people, faces of 60-140 px) as an image. The ground truth goes to
--gt (default: the output path with .json): frame size, fps, seed, class names
and, per frame, every student's id, box, visibility, size, pose and label, and
the teacher's face (schema in ferjax/synthetic/classroom.py).
"""

from __future__ import annotations

import json
import os

import cv2
from absl import app, flags

from ferjax.synthetic import classroom
from ferjax.data.errors import DataError
from ferjax.labels import EMOTIONS

flags.DEFINE_string("out", None, "Video path (.mp4: mp4v, .avi: MJPG); with --photo an "
                    "image path (.png, .jpg).", required=True)
flags.DEFINE_string("gt", None, "Ground-truth JSON path (default: --out with .json).")
flags.DEFINE_bool("realistic", False, "Render a realistic lesson (classroom.lesson).")
flags.DEFINE_bool("photo", False, "Write one still lecture photo (classroom.lecture_photo).")
flags.DEFINE_integer("num_students", 15, "Students in the room (--photo: 24 by default).")
flags.DEFINE_integer("num_frames", 300, "Frames to write.")
flags.DEFINE_float("fps", 15.0, "Frame rate.")
flags.DEFINE_integer("seed", 0, "Random seed (faces, layout, motion).")
flags.DEFINE_integer("width", 640, "Frame width.")
flags.DEFINE_integer("height", 480, "Frame height.")
flags.DEFINE_bool("teacher", True, "A teacher walks across the front row.")
flags.DEFINE_integer("teacher_start", None, "First frame of the walk (default: 1/4 in).")
flags.DEFINE_float("teacher_speed", None, "Teacher speed in pixels per frame (default: 8; "
                   "--realistic: a walking pace, classroom.TEACHER_WALK).")
flags.DEFINE_integer("label_change_every", None, "Give every student a new face and "
                     "label every this many frames.")
flags.DEFINE_string("npz", None, "Prepared FER2013 .npz (from ferjax.data.npz).")
flags.DEFINE_string("manual_dir", None, "Folder with fer2013.csv or fer2013.tar.gz.")
flags.DEFINE_string("split", "test", "FER2013 split to take faces from.")
FLAGS = flags.FLAGS


def main(argv: list[str]) -> None:
  del argv
  try:
    faces, labels = classroom.load_fer_faces(FLAGS.split, npz_path=FLAGS.npz,
                                             manual_dir=FLAGS.manual_dir)
  except DataError as e:
    raise SystemExit(f"error: {e}") from None
  if FLAGS.photo:
    write_photo(faces, labels)
    return
  truths = []
  render = classroom.lesson if FLAGS.realistic else classroom.generate
  speed = FLAGS.teacher_speed
  if speed is None and not FLAGS.realistic:
    speed = 8.0

  def frames():
    for frame, truth in render(
        faces, labels, FLAGS.num_students, FLAGS.num_frames, FLAGS.seed,
        width=FLAGS.width, height=FLAGS.height, fps=FLAGS.fps, teacher=FLAGS.teacher,
        teacher_start=FLAGS.teacher_start, teacher_speed=speed,
        label_change_every=FLAGS.label_change_every):
      truths.append(truth)
      yield frame

  try:
    count = classroom.write_video(FLAGS.out, frames(), FLAGS.fps)
  except (ValueError, OSError) as e:
    raise SystemExit(f"error: {e}") from None
  gt_path = FLAGS.gt or os.path.splitext(FLAGS.out)[0] + ".json"
  with open(gt_path, "w", encoding="utf-8") as f:
    json.dump({"video": os.path.basename(FLAGS.out), "width": FLAGS.width,
               "height": FLAGS.height, "fps": FLAGS.fps, "num_frames": count,
               "num_students": FLAGS.num_students, "seed": FLAGS.seed,
               "realistic": FLAGS.realistic, "class_names": list(EMOTIONS),
               "frames": truths}, f)
  hidden = sum(not s["visible"] for t in truths for s in t["students"])
  print(f"wrote {FLAGS.out} ({count} frames, {FLAGS.num_students} students, "
        f"{hidden} hidden student-frames) and {gt_path}")


def write_photo(faces, labels) -> None:
  """Writes the still lecture photo and its ground truth."""
  people = FLAGS.num_students if FLAGS["num_students"].present else 24
  try:
    image, truth = classroom.lecture_photo(faces, labels, FLAGS.seed, num_people=people)
  except ValueError as e:
    raise SystemExit(f"error: {e}") from None
  os.makedirs(os.path.dirname(os.path.abspath(FLAGS.out)), exist_ok=True)
  if not cv2.imwrite(FLAGS.out, image):
    raise SystemExit(f"error: cannot write {FLAGS.out} (use .png or .jpg)")
  gt_path = FLAGS.gt or os.path.splitext(FLAGS.out)[0] + ".json"
  with open(gt_path, "w", encoding="utf-8") as f:
    json.dump({"image": os.path.basename(FLAGS.out), "width": image.shape[1],
               "height": image.shape[0], "num_people": people, "seed": FLAGS.seed,
               "class_names": list(EMOTIONS), "frames": [truth]}, f)
  print(f"wrote {FLAGS.out} ({image.shape[1]}x{image.shape[0]}, {people} people) and "
        f"{gt_path}")


if __name__ == "__main__":
  app.run(main)
