"""Photo mode end to end: `tools/live.py --photos` on real group photos.

    python -m benchmarks.photo_mode            # updates BENCHMARKS.md
    python -m benchmarks.photo_mode --per_event 5 --repeats 1 --nowrite

Copies the photos named under "Photos", scaled to that width, into a temporary
folder outside the repository, and runs the tool on them as a user would:

    python tools/live.py --source FOLDER --photos --headless --out RECORDS

The time is the tool's own figure (from the first photo read to the last record
written: reading, detection at photo scale, the face check of every detection,
emotions, records; loading the models before it is not counted), the median of the
runs (each listed; the settings take turns), beside the whole command's wall time.
Precision and recall of both settings: "Real scenes: WIDER FACE indoor" (*photo* and
*photo, one view*).
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

import cv2
from absl import app, flags

from benchmarks import report
from ferjax.data import wider_face
from ferjax.data.errors import DataError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
flags.DEFINE_string("data", os.path.join(ROOT, "..", "shared", "datasets",
                                         "wider_face_indoor"), "WIDER FACE folder.")
flags.DEFINE_list("events", ["11--Meeting", "29--Students_Schoolkids"], "Events to use.")
flags.DEFINE_integer("per_event", 15, "Photos per event (the first in the file's order).")
flags.DEFINE_integer("width", 1024, "Photos are scaled to this width.")
flags.DEFINE_integer("repeats", 3, "Runs of the tool; the median is reported.")
flags.DEFINE_bool("write", True, "Update BENCHMARKS.md.")
FLAGS = flags.FLAGS

TITLE = "Photo mode end to end"
_DONE = re.compile(r"^(\d+) photos in ([\d.]+) s .*?, (\d+) faces$", re.M)


def copy_photos(images: list, folder: str) -> None:
  """Writes `images` into `folder`, scaled to --width px wide."""
  for number, image in enumerate(images):
    photo = cv2.imread(wider_face.image_file(FLAGS.data, image))
    scale = FLAGS.width / photo.shape[1]
    photo = cv2.resize(photo, (FLAGS.width, round(photo.shape[0] * scale)),
                       interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    cv2.imwrite(os.path.join(folder, f"{number:03d}.jpg"), photo,
                [cv2.IMWRITE_JPEG_QUALITY, 95])


SETTINGS = {  # label: extra flags of tools/live.py.
    "default (the photo and its mirror image)": [],
    "--nomirror_photos (before 2026-12-07)": ["--nomirror_photos"],
}


def run_tool(folder: str, records: str, extra: list[str]) -> dict:
  """One run of tools/live.py on `folder`: the tool's seconds, wall seconds, faces."""
  command = [sys.executable, os.path.join(ROOT, "tools", "live.py"), "--source", folder,
             "--photos", "--headless", "--out", records, *extra]
  start = time.perf_counter()
  done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False)
  wall = time.perf_counter() - start
  match = _DONE.search(done.stdout)
  if done.returncode or match is None:
    raise SystemExit(f"photo_mode: tools/live.py failed ({done.returncode}): "
                     f"{done.stderr.strip().splitlines()[-1:] or done.stdout[-200:]}")
  with open(os.path.join(records, "summary.json")) as f:
    not_faces = json.load(f)["session"].get("not_faces", {})
  return {"photos": int(match[1]), "seconds": float(match[2]), "faces": int(match[3]),
          "wall": wall, "rejected": not_faces.get("rejected_detections", 0)}


def row(label: str, runs: list[dict]) -> str:
  """A table row: medians over `runs` of one setting."""
  seconds = statistics.median(r["seconds"] for r in runs)
  wall = statistics.median(r["wall"] for r in runs)
  each = ", ".join(f"{r['seconds']:.1f}" for r in runs)
  last = runs[-1]
  return (f"| {label} | {last['photos']} | {seconds:.1f} s ({each}) "
          f"| **{seconds / last['photos']:.2f} s** | {wall:.1f} s | {last['faces']} "
          f"| {last['rejected']} |")


def main(argv: list[str]) -> None:
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
  try:
    images = wider_face.read_folder(FLAGS.data)
  except DataError as e:
    raise SystemExit(f"photo_mode: {e}") from None
  chosen = [image for event in FLAGS.events
            for image in wider_face.of_events(images, [event])[:FLAGS.per_event]]
  if not chosen:
    raise SystemExit(f"photo_mode: no photos of {', '.join(FLAGS.events)} in {FLAGS.data}")
  runs = {label: [] for label in SETTINGS}
  with tempfile.TemporaryDirectory() as temp:
    folder = os.path.join(temp, "photos")
    os.makedirs(folder)
    copy_photos(chosen, folder)
    for i in range(FLAGS.repeats):  # The settings take turns.
      for k, (label, extra) in enumerate(SETTINGS.items()):
        runs[label].append(run_tool(folder, os.path.join(temp, f"records{i}-{k}"), extra))
  body = (report.provenance()
          + f"- Photos: the first {FLAGS.per_event} of {' and '.join(f'`{e}`' for e in FLAGS.events)}"
          f" ({len(chosen)}), {FLAGS.width} px wide; median of {FLAGS.repeats} runs\n\n"
          + __doc__.split("\n\n", 2)[2].strip() + "\n\n"
          + "| setting | photos | tool's time | per photo | whole command (models loaded too) "
          "| faces reported | detections rejected as not faces |\n"
          "|---|---|---|---|---|---|---|\n"
          + "\n".join(row(label, r) for label, r in runs.items()) + "\n")
  report.publish(TITLE, body, FLAGS.write)


if __name__ == "__main__":
  app.run(main)
