"""Export a trained model for inference without the training stack.

The model is split into a pure function `(params, images) -> probabilities`
and converted with `jax2tf` (native serialization) into:

  <out_dir>/saved_model/   TensorFlow SavedModel, signature `serving_default`,
                           polymorphic batch
  <out_dir>/model.tflite   TFLite, fixed batch `tflite_batch` (faster in the
                           interpreter than a polymorphic one)
  <out_dir>/model_b<n>.tflite  the same for each smaller batch n in
                           `small_batches`, so one face does not pay for 32
  <out_dir>/metadata.json  class names, input size, preprocessing, model name,
                           config hash and accuracies measured at export

Serving signature (both artifacts):
  input  `images`: float32 (batch, 48, 48, 1), grey levels 0..255 (uint8 range);
         the normalisation (`ferjax.models.preprocess`) is inside the graph.
  output `probabilities`: float32 (batch, num_classes), softmax over
         `metadata["class_names"]` (FER2013 order); for an ensemble of several
         runs, the mean of their softmax outputs. A model trained with
         `face_output` has one more column (`metadata["face_output"]`): the
         probability that the input is a face; the emotion columns are then
         the emotions' probabilities given that it is one.

    python -m ferjax.train.export --workdir runs/fer2013 --out models/fer2013
    python -m ferjax.train.export --workdir runs/a,runs/b --out models/ab   # an ensemble

The output folder must be new or empty. An existing export there is replaced
only with --overwrite, and then kept beside it as `<out>.previous-<date-time>`;
any other non-empty folder is refused.
"""

from __future__ import annotations

if __name__ == "__main__":  # One line, not a traceback, without the training extra.
  from ferjax import cli as _cli  # pylint: disable=g-import-not-at-top
  _cli.require_train_extra("python -m ferjax.train.export")

# pylint: disable=g-import-not-at-top,wrong-import-position
import hashlib
import json
import os
import shutil
import tempfile
from typing import Any, Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from ferjax import files
from ferjax.inference import FORMAT, METADATA_FILE, SAVED_MODEL_DIR, TFLITE_FILE
from ferjax.models import IMAGE_SIZE, preprocess

SIGNATURE_KEY = "serving_default"
INPUT_NAME = "images"
OUTPUT_NAME = "probabilities"
DEFAULT_TFLITE_BATCH = 32
DEFAULT_SMALL_BATCHES = (1, 8)


def face_output_probabilities(logits: jax.Array) -> jax.Array:
  """Logits of K emotions + "not a face" -> K emotion probabilities given a face, P(face).

  P(face) = 1 - softmax(logits)[K] = sigmoid(logsumexp(emotion logits) - not-face logit).
  """
  emotions, not_face = logits[..., :-1], logits[..., -1:]
  face = jax.nn.sigmoid(jax.nn.logsumexp(emotions, axis=-1, keepdims=True) - not_face)
  return jnp.concatenate([jax.nn.softmax(emotions, axis=-1), face], axis=-1)


def inference_function(models: nnx.Module | Sequence[nnx.Module], face_output: bool = False
                       ) -> tuple[Callable, list[np.ndarray]]:
  """A pure `fn(params_list, images) -> probabilities` and its flat params list.

  Several models make one ensemble: the mean of their softmax probabilities.
  With `face_output` the models' last logit is "not a face", and the function
  returns `face_output_probabilities` (the emotions given a face, then P(face)).
  """
  members = [models] if isinstance(models, nnx.Module) else list(models)
  parts, params = [], []
  for model in members:
    model.eval()
    # RNG state (dropout keys) is unused in eval mode and stays a constant.
    graphdef, rng_state, state = nnx.split(model, nnx.RngState, ...)
    leaves, treedef = jax.tree_util.tree_flatten(state)
    parts.append((graphdef, rng_state, treedef, len(params), len(params) + len(leaves)))
    params.extend(np.asarray(leaf) for leaf in leaves)

  def predict(params: list[jax.Array], images: jax.Array) -> jax.Array:
    x = preprocess(images)
    probabilities = []
    for graphdef, rng_state, treedef, start, stop in parts:
      merged = nnx.merge(graphdef, rng_state,
                         jax.tree_util.tree_unflatten(treedef, params[start:stop]))
      logits = merged(x).astype(jnp.float32)
      probabilities.append(face_output_probabilities(logits) if face_output
                           else jax.nn.softmax(logits, axis=-1))
    return sum(probabilities) / len(probabilities)

  return predict, params


def config_hash(config: Any) -> str:
  """A short stable hash of a config (anything JSON-serialisable or a ConfigDict)."""
  if hasattr(config, "to_json_best_effort"):
    text = config.to_json_best_effort(sort_keys=True)
  else:
    text = json.dumps(config, sort_keys=True, default=str)
  return hashlib.sha256(text.encode()).hexdigest()[:12]


def tflite_file(batch: int, tflite_batch: int) -> str:
  """File name of the TFLite model of fixed `batch` (the main one is model.tflite)."""
  return TFLITE_FILE if batch == tflite_batch else f"model_b{batch}.tflite"


def _build_tf_module(predict: Callable, params: list[np.ndarray], batches: list[int]):
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  from jax.experimental import jax2tf  # pylint: disable=g-import-not-at-top

  module = tf.Module()
  module.params = [tf.Variable(p, trainable=False, name=f"param_{i}")
                   for i, p in enumerate(params)]
  shape = (IMAGE_SIZE, IMAGE_SIZE, 1)
  polymorphic = jax2tf.convert(
      predict, with_gradient=False,
      polymorphic_shapes=[None, f"(b, {IMAGE_SIZE}, {IMAGE_SIZE}, 1)"])
  fixed = jax2tf.convert(predict, with_gradient=False)

  @tf.function(autograph=False, input_signature=[
      tf.TensorSpec((None, *shape), tf.float32, name=INPUT_NAME)])
  def serve(images):
    return {OUTPUT_NAME: polymorphic(module.params, images)}

  def fixed_signature(batch: int):
    @tf.function(autograph=False, input_signature=[
        tf.TensorSpec((batch, *shape), tf.float32, name=INPUT_NAME)])
    def serve_fixed(images):
      return {OUTPUT_NAME: fixed(module.params, images)}
    return serve_fixed

  module.serve = serve
  module.fixed = {f"serving_batch_{b}": fixed_signature(b) for b in batches}
  return module


def is_export(path: str | os.PathLike) -> bool:
  """True if `path` holds a ferjax export (metadata.json of `FORMAT`)."""
  try:
    with open(os.path.join(path, METADATA_FILE), encoding="utf-8") as f:
      return json.load(f).get("format") == FORMAT
  except (OSError, ValueError, AttributeError):
    return False


def check_target(out_dir: str | os.PathLike, *, overwrite: bool = False,
                 what: str = "--out") -> None:
  """Raises `files.OutputError` unless an export may go to `out_dir`.

  Allowed: a new or empty folder, or (with `overwrite`) an existing export,
  which is then moved aside. Anything else is never touched.
  """
  out_dir = os.path.abspath(os.fspath(out_dir))
  files.check_output_dir(out_dir, what)
  parent = os.path.dirname(out_dir)
  if os.path.isdir(parent) and not os.access(parent, os.W_OK | os.X_OK):
    raise files.OutputError(f"{what} {out_dir}: its folder {parent} is not writable; "
                            "pass a folder you can write to")
  if not os.path.exists(out_dir) or files.is_empty_dir(out_dir):
    return
  if not is_export(out_dir):
    raise files.OutputError(f"{what} {out_dir} is not empty and holds no ferjax export; "
                            "nothing was written: choose a new or empty folder")
  if not overwrite:
    raise files.OutputError(f"{what} {out_dir} already holds an export; pass --overwrite "
                            f"to replace it (the old one is kept as {out_dir}.previous-"
                            "<date-time>) or choose another folder")


def _place(staging: str, out_dir: str) -> str | None:
  """Moves the finished `staging` folder to `out_dir`; returns where an old export went."""
  if files.is_empty_dir(out_dir):  # Keep the user's folder: fill it, metadata last.
    for name in sorted(os.listdir(staging), key=lambda n: n == METADATA_FILE):
      os.replace(os.path.join(staging, name), os.path.join(out_dir, name))
    os.rmdir(staging)
    return None
  previous = None
  if os.path.lexists(out_dir):  # An export (see check_target): moved aside, never deleted.
    previous = files.aside_name(out_dir)
    os.rename(out_dir, previous)
  try:
    os.replace(staging, out_dir)
  except OSError:
    if previous is not None:
      os.rename(previous, out_dir)
    raise
  return previous


def export(model: nnx.Module | Sequence[nnx.Module], out_dir: str | os.PathLike, *,
           metadata: dict[str, Any] | None = None,
           tflite_batch: int = DEFAULT_TFLITE_BATCH,
           small_batches: tuple[int, ...] = DEFAULT_SMALL_BATCHES,
           overwrite: bool = False, tflite_float16: bool = False,
           face_output: bool = False) -> dict[str, str]:
  """Writes SavedModel, TFLite and metadata for `model` (or an ensemble) into `out_dir`.

  `face_output`: the models' last logit is "not a face"; the export's last
  column is then P(face) (see `inference_function`, `metadata["face_output"]`).

  `tflite_float16` stores the TFLite weights as float16 (half the size; the
  interpreter computes in float32 as before); the SavedModel keeps float32.

  `out_dir` must be new or empty, or an earlier export with `overwrite`; that
  one is moved to `<out_dir>.previous-<date-time>` (returned as "previous").
  Files are written to a temporary folder and moved into place at the end,
  so a failed export never leaves a half-written model behind.
  """
  import tensorflow as tf  # pylint: disable=g-import-not-at-top

  if tflite_batch < 1:
    raise ValueError(f"tflite_batch must be at least 1, got {tflite_batch}")
  out_dir = os.path.abspath(os.fspath(out_dir))
  check_target(out_dir, overwrite=overwrite)
  batches = sorted({b for b in small_batches if 1 <= b < tflite_batch} | {tflite_batch})
  predict, params = inference_function(model, face_output)
  num_outputs = int(np.asarray(predict(params, np.zeros((1, IMAGE_SIZE, IMAGE_SIZE, 1),
                                                         np.float32))).shape[-1])
  num_classes = num_outputs - int(face_output)
  parent = os.path.dirname(out_dir)
  os.makedirs(parent, exist_ok=True)
  staging = tempfile.mkdtemp(prefix=".export-", dir=parent)
  os.chmod(staging, 0o755)  # mkdtemp makes it private; an export is for sharing
  try:
    module = _build_tf_module(predict, params, batches)
    saved_model = os.path.join(staging, SAVED_MODEL_DIR)
    tf.saved_model.save(module, saved_model,
                        signatures={SIGNATURE_KEY: module.serve, **module.fixed})
    tflite_files = {}
    for batch in batches:
      converter = tf.lite.TFLiteConverter.from_saved_model(
          saved_model, signature_keys=[f"serving_batch_{batch}"])
      if tflite_float16:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
      tflite_files[str(batch)] = tflite_file(batch, tflite_batch)
      with open(os.path.join(staging, tflite_files[str(batch)]), "wb") as f:
        f.write(converter.convert())
    meta = {
        "format": FORMAT,
        "class_names": None,
        "num_classes": num_classes,
        "input": {"name": INPUT_NAME, "shape": [None, IMAGE_SIZE, IMAGE_SIZE, 1],
                  "dtype": "float32", "range": [0, 255], "color": "grayscale"},
        "output": {"name": OUTPUT_NAME, "kind": "softmax probabilities"},
        "preprocessing": "ferjax.models.preprocess (inside the graph)",
        "tflite_batch": tflite_batch,
        "tflite_files": tflite_files,
        "tflite_weights": "float16" if tflite_float16 else "float32",
        "num_params": int(sum(p.size for p in params)),
        **(metadata or {}),
    }
    if face_output:
      meta["face_output"] = {
          "index": num_classes, "name": "face",
          "meaning": "probability that the input is a face; the emotion columns are "
                     "the probabilities of each emotion given a face"}
    if meta["class_names"] is None:
      from ferjax.labels import FERPLUS_EMOTIONS  # pylint: disable=g-import-not-at-top
      meta["class_names"] = list(FERPLUS_EMOTIONS[:num_classes])
    with open(os.path.join(staging, METADATA_FILE), "w") as f:
      json.dump(meta, f, indent=2, sort_keys=True)
    check_target(out_dir, overwrite=overwrite)  # Again: the work took a while.
    previous = _place(staging, out_dir)
  finally:
    if os.path.exists(staging):  # Made by this run: only ever its own files.
      shutil.rmtree(staging)
  paths = {"saved_model": os.path.join(out_dir, SAVED_MODEL_DIR),
           "tflite": os.path.join(out_dir, TFLITE_FILE),
           "metadata": os.path.join(out_dir, METADATA_FILE)}
  if previous is not None:
    paths["previous"] = previous
  return paths


def fit_temperature(predict: Callable, params: list[np.ndarray],
                    config: Any) -> dict[str, Any]:
  """Temperature scaling fitted on the run's validation splits (1.0 if they are absent).

  `predict, params` come from `inference_function`; log-probabilities serve as
  logits (the same fit as the raw logits: softmax ignores a shift per row).
  Returns the temperature, the validation sets used, and the expected calibration
  error before and after (`ferjax.calibration`).
  """
  from ferjax import calibration  # pylint: disable=g-import-not-at-top
  from ferjax.train import config_lib  # pylint: disable=g-import-not-at-top
  from ferjax.train import input_pipeline  # pylint: disable=g-import-not-at-top
  from ferjax.data.errors import DataError  # pylint: disable=g-import-not-at-top
  try:
    spec = config_lib.run_spec(config)
    sets = input_pipeline.load_eval_splits(config, spec, "validation")
  except (DataError, ImportError, ValueError) as e:
    return {"temperature": 1.0, "note": f"not fitted: validation data unavailable ({e})"}
  sets = {name: arrays for name, arrays in sets.items() if name != "nonface"}
  num_classes = spec.num_classes
  forward = jax.jit(predict)
  probabilities, labels = {}, {}
  for name, arrays in sets.items():
    probabilities[name] = np.concatenate([
        np.asarray(forward(params, arrays["image"][i:i + 512]))[:, :num_classes]
        for i in range(0, len(arrays["label"]), 512)])
    labels[name] = arrays["label"]
  # Each dataset weighs the same, so the larger one does not set the temperature alone.
  weights = np.concatenate([np.full(len(v), 1.0 / len(v)) for v in labels.values()])
  temperature = calibration.fit_temperature(
      np.log(np.clip(np.concatenate(list(probabilities.values())), 1e-12, 1.0)),
      np.concatenate(list(labels.values())), weights)
  ece = lambda name, t: round(calibration.expected_calibration_error(
      calibration.apply_temperature(probabilities[name], t), labels[name]), 4)
  return {"temperature": round(temperature, 4), "fitted_on": sorted(sets),
          "split": "validation", "num_examples": int(len(weights)),
          "weighting": "each dataset equally",
          "ece_before": {name: ece(name, 1.0) for name in sets},
          "ece_after": {name: ece(name, temperature) for name in sets}}


def check_workdir(workdir: str) -> None:
  """Raises ValueError unless `workdir` is a training workdir with a checkpoint."""
  from ferjax.train import checkpoints  # pylint: disable=g-import-not-at-top
  expected = (f"it should hold {checkpoints.CONFIG_FILE} and {checkpoints.BEST_DIR}/ or "
              f"{checkpoints.LATEST_DIR}/, as written by python -m ferjax.train")
  if not os.path.isdir(workdir):
    raise ValueError(f"--workdir {workdir} is not a folder; {expected}")
  missing = [] if os.path.isfile(os.path.join(workdir, checkpoints.CONFIG_FILE)) else [
      checkpoints.CONFIG_FILE]
  if not any(os.path.isdir(os.path.join(workdir, d))
             for d in (checkpoints.BEST_DIR, checkpoints.LATEST_DIR)):
    missing.append("checkpoints")
  if missing:
    raise ValueError(f"--workdir {workdir} is not a training workdir (no "
                     f"{' and no '.join(missing)}); {expected}")


def _test_accuracy(workdir: str, step: int | None) -> float | None:
  """The test accuracy the training run logged for its model of `step`, if any."""
  from ferjax.train.metrics_writer import METRICS_FILE  # pylint: disable=g-import-not-at-top
  metrics_path = os.path.join(workdir, METRICS_FILE)
  if not os.path.exists(metrics_path):
    return None
  accuracy = None
  with open(metrics_path) as f:
    for line in f:
      record = json.loads(line)
      if "test_accuracy" in record and record.get("step") == step:
        accuracy = record["test_accuracy"]
  return accuracy


def export_workdir(workdir: str | Sequence[str], out_dir: str,
                   tflite_batch: int = DEFAULT_TFLITE_BATCH, overwrite: bool = False,
                   tflite_float16: bool = False,
                   validation_npz: str | None = None) -> dict[str, str]:
  """Exports the best checkpoint of a training workdir, with its metadata.

  Several workdirs export one ensemble (the mean of their probabilities); they
  must predict the same classes. The validation splits of the first run fit
  the temperature, read from `validation_npz` (comma-separated, as
  `config.npz_path`) when given, e.g. data prepared since the run. Every folder
  is checked before any work (see `check_target`).
  """
  from ferjax.train import checkpoints  # pylint: disable=g-import-not-at-top
  from ferjax.train import config_lib  # pylint: disable=g-import-not-at-top

  workdirs = [workdir] if isinstance(workdir, str) else list(workdir)
  if not workdirs:
    raise ValueError("--workdir: name at least one training workdir")
  for path in workdirs:
    check_workdir(path)
  for path in (validation_npz or "").split(","):
    if path and not os.path.isfile(path):
      raise ValueError(f"--validation_npz {path}: no such file; give .npz files made by "
                       "python -m ferjax.data.npz")
  check_target(out_dir, overwrite=overwrite)
  restored = [checkpoints.restore_best(path) for path in workdirs]
  models = [model for model, _, _ in restored]
  config = restored[0][1]
  validation_config = config.copy_and_resolve_references()
  if validation_npz:
    validation_config.npz_path = validation_npz
  specs = [config_lib.run_spec(c) for _, c, _ in restored]
  if len({spec.num_outputs for spec in specs}) > 1:
    raise ValueError("--workdir: the runs predict different numbers of classes (or "
                     "one has the face output); an ensemble needs runs of the same outputs")
  face_output = bool(config.get("face_output"))
  predict, params = inference_function(models, face_output)
  temperature = fit_temperature(predict, params, validation_config)
  metadata = {"temperature": temperature["temperature"], "calibration": temperature,
              "model": config.model, "dataset": config.dataset,
              "mixture": config.get("mixture", ""),
              "datasets": list(specs[0].datasets)}
  if len(workdirs) == 1:
    info = restored[0][2]
    metadata.update(config_hash=config_hash(config), step=info.get("step"),
                    validation_accuracy=info.get("validation_accuracy"))
    test_accuracy = _test_accuracy(workdirs[0], info.get("step"))
    if test_accuracy is not None:
      metadata["test_accuracy"] = test_accuracy
  else:
    members = [{"workdir": os.path.basename(os.path.normpath(path)), "model": c.model,
                "config_hash": config_hash(c), "step": info.get("step"),
                "validation_accuracy": info.get("validation_accuracy")}
               for path, (_, c, info) in zip(workdirs, restored)]
    metadata.update(ensemble=len(members), members=members,
                    config_hash=config_hash([m["config_hash"] for m in members]))
  return export(models, out_dir, metadata=metadata, tflite_batch=tflite_batch,
                overwrite=overwrite, tflite_float16=tflite_float16, face_output=face_output)


def main(argv: list[str]) -> None:
  del argv
  from absl import flags  # pylint: disable=g-import-not-at-top
  values = flags.FLAGS
  try:
    paths = export_workdir(values.workdir, values.out, values.tflite_batch,
                           overwrite=values.overwrite,
                           tflite_float16=values.tflite_float16,
                           validation_npz=values.validation_npz)
  except ValueError as e:
    raise SystemExit(f"error: {e}") from None
  except OSError as e:  # E.g. a full disk: the staging folder is gone, --out untouched.
    raise SystemExit(f"error: cannot export to {values.out}: {e.strerror or e}") from None
  previous = paths.pop("previous", None)
  if previous:
    print(f"moved the previous export to {previous}")
  print("wrote " + ", ".join(paths.values()))


if __name__ == "__main__":
  from absl import flags  # pylint: disable=g-import-not-at-top
  from ferjax import cli  # pylint: disable=g-import-not-at-top
  flags.DEFINE_list("workdir", None, "Training workdir (checkpoints + config.json); "
                    "several, comma-separated, export one ensemble that averages their "
                    "probabilities.", required=True)
  flags.DEFINE_string("out", None, "Folder for the exported model.", required=True)
  flags.DEFINE_integer("tflite_batch", DEFAULT_TFLITE_BATCH, "Fixed TFLite batch size.")
  flags.DEFINE_bool("tflite_float16", False, "Store the TFLite weights as float16 (half "
                    "the size, same float32 compute).")
  flags.DEFINE_string("validation_npz", None, "Prepared .npz files (comma-separated, as "
                      "config.npz_path) whose validation splits fit the temperature "
                      "(default: the run's own data).")
  flags.DEFINE_bool("overwrite", False, "Replace an earlier export in --out (it is moved "
                    "to <out>.previous-<date-time>, not deleted).")
  cli.run(main, __name__, __doc__)
