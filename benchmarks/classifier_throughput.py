"""Faces/s of the exported classifiers (TFLite, SavedModel) and of tools/eval.py.

    python -m benchmarks.classifier_throughput
    python -m benchmarks.classifier_throughput --models ferjax/pretrained/realtime,runs/x/export

For each recipe's network (untrained weights unless --models are given: speed
does not depend on the weights) this exports with jax2tf, then times batched
inference on this CPU: the median of `--repeats` timed runs after a warm-up.
With the real FER2013 beside the repo it also times tools/eval.py's whole
evaluation of the 3,589 PrivateTest faces.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time

import numpy as np
from absl import app, flags

from benchmarks import report

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

flags.DEFINE_list("recipes", ["fer2013_cpu", "fer2013"], "experiments/<name>.py recipes.")
flags.DEFINE_list("models", [], "Exported model folders to time (in one run) instead of "
                  "recipes.")
flags.DEFINE_integer("repeats", 7, "Timed runs per measurement (median reported).")
flags.DEFINE_integer("faces", 1024, "Faces per timed run.")
flags.DEFINE_bool("write", True, "Update BENCHMARKS.md.")
FLAGS = flags.FLAGS
REAL_FER2013 = os.path.join(ROOT, "..", "shared", "datasets", "fer2013")


def export_recipe(name: str, out_dir: str) -> str:
  from flax import nnx  # pylint: disable=g-import-not-at-top
  from ferjax.train import export  # pylint: disable=g-import-not-at-top
  from ferjax.labels import EMOTIONS  # pylint: disable=g-import-not-at-top
  from ferjax.models import create_model  # pylint: disable=g-import-not-at-top
  from ferjax.train import config_lib  # pylint: disable=g-import-not-at-top
  config = config_lib.load_recipe(os.path.join(ROOT, "experiments", f"{name}.py"))
  model = create_model(config.model, len(EMOTIONS), rngs=nnx.Rngs(0),
                       **config.model_kwargs.to_dict())
  path = os.path.join(out_dir, name)
  export.export(model, path, metadata={"model": config.model, "recipe": name})
  return path


def median_faces_per_second(predict, faces: np.ndarray, repeats: int) -> float:
  predict(faces[:64])  # warm-up
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    predict(faces)
    times.append(time.perf_counter() - start)
  return len(faces) / statistics.median(times)


def time_model(label: str, model_dir: str, faces: np.ndarray) -> dict:
  from ferjax.inference import ExpressionClassifier  # pylint: disable=g-import-not-at-top
  row = {"label": label}
  tflite = ExpressionClassifier(model_dir, backend="tflite", num_threads=os.cpu_count())
  row["params"] = tflite.metadata.get("num_params")
  row["tflite_batch"] = tflite.batch_size
  row["tflite"] = median_faces_per_second(tflite.predict, faces, FLAGS.repeats)
  row["tflite_one_face_ms"] = 1000 / median_faces_per_second(
      tflite.predict, faces[:1], FLAGS.repeats * 5)
  saved = ExpressionClassifier(model_dir, backend="savedmodel")
  row["savedmodel"] = median_faces_per_second(saved.predict, faces, FLAGS.repeats)
  if os.path.isfile(os.path.join(REAL_FER2013, "fer2013.tar.gz")):
    from ferjax.evaluation import evaluator  # pylint: disable=g-import-not-at-top
    npz_path = os.path.join(tempfile.gettempdir(), "ferjax_bench_fer2013.npz")
    if not os.path.exists(npz_path):
      from ferjax.data import npz  # pylint: disable=g-import-not-at-top
      npz.prepare(REAL_FER2013, npz_path)
    start = time.perf_counter()
    result = evaluator.evaluate_model(tflite, "fer2013", "test", npz_path=npz_path, progress=False)
    row["eval_seconds"] = time.perf_counter() - start
    row["eval_examples"] = result["num_examples"]
  return row


def _export_label(path: str) -> str:
  """`path` (its network, from metadata.json; "2 x resnet" for an ensemble)."""
  from ferjax.inference import read_metadata  # pylint: disable=g-import-not-at-top
  metadata = read_metadata(path)
  members = f"{metadata['ensemble']} x " if metadata.get("ensemble") else ""
  return f"`{path}` ({members}{metadata.get('model', '?')})"


def main(argv: list[str]) -> None:
  del argv
  faces = np.random.default_rng(0).integers(0, 256, (FLAGS.faces, 48, 48, 1)).astype(
      np.float32)
  rows = []
  with tempfile.TemporaryDirectory() as tmp:
    targets = ([(_export_label(path), path) for path in FLAGS.models] if FLAGS.models else
               [(name, export_recipe(name, tmp)) for name in FLAGS.recipes])
    for label, model_dir in targets:
      rows.append(time_model(label, model_dir, faces))
      print(rows[-1])
  lines = ["| recipe (network) | params | TFLite faces/s (batch) | TFLite 1 face, ms "
           "| SavedModel faces/s | eval of 3,589 PrivateTest faces, s |",
           "|---|---|---|---|---|---|"]
  for r in rows:
    eval_cell = f"{r['eval_seconds']:.1f}" if "eval_seconds" in r else "n/a (no data)"
    lines.append(f"| {r['label']} | {r['params']:,} | {r['tflite']:,.0f} ({r['tflite_batch']}) "
                 f"| {r['tflite_one_face_ms']:.2f} | {r['savedmodel']:,.0f} | {eval_cell} |")
  if len(rows) > 1:
    lines.append("")
    lines.append(f"TFLite speed ratio {rows[0]['label']} / {rows[1]['label']}: "
                 f"{rows[0]['tflite'] / rows[1]['tflite']:.1f}x.")
  body = (report.provenance() +
          f"- Median of {FLAGS.repeats} runs of {FLAGS.faces} random 48x48 faces after a "
          "warm-up; all CPU threads. Weights do not affect speed; the eval column is the "
          "whole `evaluate()` call (data loading, batching, metrics) on real faces.\n\n"
          + "\n".join(lines))
  report.publish("Classifier inference throughput", body, FLAGS.write)


if __name__ == "__main__":
  app.run(main)
