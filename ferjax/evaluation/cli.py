"""Evaluates an exported ferjax model on a labelled dataset.

    python tools/eval.py --dataset fer2013 --split test --manual_dir ~/data/fer2013
    python tools/eval.py --dataset kdef --manual_dir ~/data/kdef
    python tools/eval.py --dataset expw --split validation --npz expw.npz
    python tools/eval.py --dataset imagefolder --data_dir ~/photos   # DIR/<emotion>/*.jpg

Writes `<out>/<dataset>_<split>.json` (schema in README.md) and a confusion-matrix
PNG beside it, and prints a per-class table. `--json` prints the JSON to stdout.
An existing report is replaced only with --overwrite.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys

from absl import app, flags

from ferjax import cli
from ferjax import files
from ferjax.data.errors import DataError
from ferjax.evaluation import evaluator
from ferjax.inference import (BACKENDS, DEFAULT_MODEL_DIR, ExpressionClassifier,
                              ModelError, model_error_message)

flags.DEFINE_string("dataset", None, f"One of {', '.join(evaluator.DATASETS)}.")
flags.DEFINE_string("split", "test", "Split to evaluate (fer2013, rafdb, expw: "
                    "train/validation/test).")
flags.DEFINE_string("data_dir", None, "TFDS data dir (default ~/tensorflow_datasets); "
                    "for imagefolder, the folder of <emotion>/ sub-folders.")
flags.DEFINE_string("manual_dir", None, "Folder holding the downloaded dataset files.")
flags.DEFINE_enum("reader", "auto", ("auto", "tfds", "files"), "How a dataset without "
                  "--npz is read: its TFDS builder, or the downloaded files in "
                  "--manual_dir by the same parsers, with no TensorFlow (auto: TFDS where "
                  "installed).")
flags.DEFINE_string("npz", None, "Prepared FER2013, RAF-DB or ExpW .npz (python -m "
                    "ferjax.data.npz; no TensorFlow datasets needed).")
flags.DEFINE_integer("face_px", 0, "Shrink every face to this many pixels and back "
                     "(area down, bilinear up), as a classroom camera sees it; 0 = as is.",
                     lower_bound=0)
flags.DEFINE_float("roll_degrees", 0.0, "Tilt every face by this many degrees (rotation "
                   "about the crop centre), as an unaligned tilted head looks; 0 = as is.")
flags.DEFINE_string("model", DEFAULT_MODEL_DIR, "Exported model folder (from ferjax.train.export).")
flags.DEFINE_enum("backend", "tflite", BACKENDS, "Inference backend.")
flags.DEFINE_string("detector", "default", "Face detector for photo datasets.")
flags.DEFINE_enum("tta", "none", evaluator.TTA_MODES, "Test-time augmentation, reported "
                  "separately from the plain result.")
flags.DEFINE_string("out", "eval_results", "Folder for the JSON report and PNG.")
flags.DEFINE_bool("json", False, "Print the JSON report to stdout instead of the table.")
flags.DEFINE_bool("overwrite", False, "Replace an existing report of the same dataset, "
                  "split, --face_px and --roll_degrees in --out.")
FLAGS = flags.FLAGS


def format_table(report: dict) -> str:
  size = f" at {report['face_px']} px" if report.get("face_px") else ""
  if report.get("roll_degrees"):
    size += f" rolled {report['roll_degrees']:g} degrees"
  lines = [f"{report['dataset']}/{report['split']}{size}: {report['num_examples']} images, "
           f"accuracy {report['accuracy']:.2%}, macro-F1 {report['macro_f1']:.4f}, "
           f"ECE {report['calibration']['ece']:.3f}"]
  if "tta" in report:
    lines.append(f"  with {report['tta']['mode']} TTA: accuracy "
                 f"{report['tta']['accuracy']:.2%}, macro-F1 {report['tta']['macro_f1']:.4f}")
  lines.append(f"{'class':<10} {'precision':>9} {'recall':>7} {'f1':>6} {'support':>8} "
               f"{'predicted':>9}")
  for name, row in report["per_class"].items():
    lines.append(f"{name:<10} {row['precision']:>9.3f} {row['recall']:>7.3f} "
                 f"{row['f1']:>6.3f} {row['support']:>8d} "
                 f"{report['predicted_share'][name]:>9.1%}")
  notes = [f"{report['no_face_fallbacks']} images with no face found (whole image used)",
           f"{report['unreadable']['count']} unreadable images skipped"
           + (f" (e.g. {', '.join(report['unreadable']['examples'])})"
              if report['unreadable']['count'] else ""),
           f"{report['skipped_labels']} images of classes the model lacks skipped"]
  lines += [f"note: {n}" for n in notes if not n.startswith("0 ")]
  lines.append(f"{report['images_per_second']:.0f} images/s ({report['backend']})")
  return "\n".join(lines)


def report_stem(out: str, dataset: str, split: str, face_px: int,
                roll_degrees: float = 0.0) -> str:
  """`<out>/<dataset>_<split>[_px<N>][_roll<D>]`, + .json (report), + _confusion.png."""
  suffix = (f"_px{face_px}" if face_px else "") + (
      f"_roll{roll_degrees:g}" if roll_degrees else "")
  return os.path.join(out, f"{dataset}_{split}{suffix}")


def check_outputs(out: str, stem: str, overwrite: bool) -> None:
  """Raises files.OutputError unless the report can be written (before any work)."""
  files.check_output_dir(out, "--out")
  if overwrite:
    return
  for path in (stem + ".json", stem + "_confusion.png"):
    if os.path.lexists(path):
      raise files.OutputError(f"{path} already exists; pass --overwrite to replace it, "
                              "or choose another --out")


def main(argv: list[str]) -> None:
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
  if FLAGS.dataset not in evaluator.DATASETS:
    sys.exit(f"error: --dataset must be one of {', '.join(evaluator.DATASETS)}"
             + (f" (got {FLAGS.dataset!r})" if FLAGS.dataset else ""))
  stem = report_stem(FLAGS.out, FLAGS.dataset, FLAGS.split, FLAGS.face_px,
                     FLAGS.roll_degrees)
  try:
    check_outputs(FLAGS.out, stem, FLAGS.overwrite)
  except files.OutputError as e:
    sys.exit(f"error: {e}")
  # With --json, stdout is the report alone: anything else printed meanwhile (a TFDS
  # dataset's first preparation, warnings) goes to stderr.
  with cli.stdout_to_stderr() if FLAGS.json else contextlib.nullcontext():
    report = _evaluate(stem)
  if FLAGS.json:
    print(json.dumps(report, indent=2))
  else:
    print(format_table(report))
    print(f"wrote {stem}.json and {stem}_confusion.png")


def _evaluate(stem: str) -> dict:
  """Runs the evaluation and writes the report files; exits with one line on bad input."""
  try:
    classifier = ExpressionClassifier(FLAGS.model, backend=FLAGS.backend)
  except ModelError as e:
    sys.exit(model_error_message(e, FLAGS.model))
  try:
    report = evaluator.evaluate_model(
        classifier, FLAGS.dataset, FLAGS.split, data_dir=FLAGS.data_dir,
        manual_dir=FLAGS.manual_dir, npz_path=FLAGS.npz, detector=FLAGS.detector,
        reader=FLAGS.reader,
        tta=FLAGS.tta, progress=not FLAGS.json, face_px=FLAGS.face_px,
        roll_degrees=FLAGS.roll_degrees)
  except DataError as e:
    sys.exit(f"error: {e}")
  from ferjax.evaluation import plots  # pylint: disable=g-import-not-at-top
  try:
    os.makedirs(FLAGS.out, exist_ok=True)
    files.atomic_write_text(stem + ".json", json.dumps(report, indent=2))
    with files.replacing(stem + "_confusion.png") as tmp:
      plots.confusion_png(report, tmp)
  except OSError as e:
    sys.exit(f"error: cannot write the report in {FLAGS.out}: {e.strerror or e}")
  return report


def run() -> None:
  """Entry point of `ferjax-eval` and `tools/eval.py`."""
  cli.run(main, __name__, __doc__)


if __name__ == "__main__":
  run()
