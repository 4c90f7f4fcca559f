"""Runs an exported model (see `ferjax.train.export`) with no training code.

    classifier = ExpressionClassifier(DEFAULT_MODEL_DIR)       # TFLite by default
    probabilities = classifier.predict(faces)   # faces: (n, 48, 48[, 1]) grey 0..255
    probabilities, face = classifier.predict_with_face(faces)  # face: P(face) or None

Imports neither JAX nor Flax: the TFLite backend needs `ai-edge-litert`,
the SavedModel backend TensorFlow.
"""

from __future__ import annotations

import json
import os

import numpy as np

from ferjax import calibration

# The model shipped inside the package (so any install has it), used by the tools when
# no --model is given.
DEFAULT_MODEL_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pretrained",
                                 "realtime")
# One network with a "not a face" output; the live tool checks faces with it when the
# emotion model has no face output of its own.
FACE_CHECK_MODEL_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pretrained",
                                    "realtime_single")
FORMAT = "ferjax-export/1"
METADATA_FILE = "metadata.json"
SAVED_MODEL_DIR = "saved_model"
TFLITE_FILE = "model.tflite"
BACKENDS = ("tflite", "savedmodel")


# Cost of one interpreter call, in faces: small, so padding weighs more than calls.
CALL_COST_FACES = 1


def batch_plan(count: int, sizes: list[int]) -> list[int]:
  """Fixed batch sizes (from `sizes`) to run `count` faces with the least work.

  Full chunks of the largest size, then the remainder by the cheapest mix of
  sizes, counting padded faces as work: 15 faces with sizes 1, 8, 32 run as
  8 + 8, not as one batch of 32 that is half padding.
  """
  largest = max(sizes)
  plan = [largest] * (count // largest)
  left = count % largest
  best = {0: (0, [])}  # Faces left -> (cost, batches), cheapest first.
  for r in range(1, left + 1):
    options = []
    for b in sizes:
      rest_cost, rest = best[max(0, r - b)]
      options.append((b + CALL_COST_FACES + rest_cost, [b] + rest))
    best[r] = min(options, key=lambda option: option[0])
  return plan + sorted(best[left][1], reverse=True)


class ModelError(ValueError):
  """The model path does not hold a usable ferjax export."""


def model_error_message(error: ModelError, model_dir: str) -> str:
  """The one-line message for a model that cannot be loaded, with a hint for the default."""
  hint = (" (the shipped model is missing from this install: restore "
          "ferjax/pretrained/realtime, "
          "or pass --model WORKDIR/export)" if model_dir == DEFAULT_MODEL_DIR else "")
  return f"error: {error}{hint}"


def class_bias(metadata: dict) -> np.ndarray | None:
  """The export's per-class logit bias (`metadata["class_bias"]["bias"]`), or None."""
  stored = metadata.get("class_bias")
  if not stored:
    return None
  bias = np.asarray(stored.get("bias", ()), np.float32)
  if bias.shape != (len(metadata["class_names"]),):
    raise ModelError(f"metadata class_bias has {bias.size} values for "
                     f"{len(metadata['class_names'])} classes")
  return bias


def read_metadata(model_dir: str | os.PathLike) -> dict:
  """Reads and checks `metadata.json` of an exported model."""
  model_dir = os.fspath(model_dir)
  if not os.path.isdir(model_dir):
    raise ModelError(f"{model_dir}: not a folder; pass the folder written by "
                     "ferjax.train.export (holding metadata.json, model.tflite, saved_model/)")
  path = os.path.join(model_dir, METADATA_FILE)
  try:
    with open(path) as f:
      metadata = json.load(f)
  except FileNotFoundError:
    raise ModelError(f"{model_dir}: no {METADATA_FILE}; not a ferjax export") from None
  except (json.JSONDecodeError, UnicodeDecodeError) as e:
    raise ModelError(f"{path}: not valid JSON ({e})") from None
  if not isinstance(metadata, dict) or metadata.get("format") != FORMAT:
    raise ModelError(f"{path}: not ferjax export metadata")
  return metadata


class ExpressionClassifier:
  """Batched expression probabilities for 48x48 grayscale faces."""

  def __init__(self, model_dir: str | os.PathLike, backend: str = "tflite",
               num_threads: int | None = None):
    if backend not in BACKENDS:
      raise ModelError(f"unknown backend {backend!r}; choose from {', '.join(BACKENDS)}")
    self.model_dir = os.fspath(model_dir)
    self.metadata = read_metadata(self.model_dir)
    self.class_names: list[str] = list(self.metadata["class_names"])
    self.input_size: int = int(self.metadata["input"]["shape"][1])
    # Fitted on validation data at export (ferjax.calibration); 1.0 = uncalibrated.
    self.temperature = float(self.metadata.get("temperature") or 1.0)
    # A prior shift toward the rare emotions, added to the tempered logits (None: none).
    self.class_bias = class_bias(self.metadata)
    # Models trained with a "not a face" output add P(face) as a last column.
    self.has_face_output = bool(self.metadata.get("face_output"))
    self.backend = backend
    if backend == "tflite":
      self._run = self._load_tflite(num_threads)
    else:
      self._run = self._load_saved_model()

  def _load_tflite(self, num_threads: int | None):
    from ai_edge_litert.interpreter import Interpreter  # pylint: disable=g-import-not-at-top
    files = self.metadata.get("tflite_files") or {
        str(self.metadata.get("tflite_batch", 0)): TFLITE_FILE}
    runners = {}
    for name in files.values():
      path = os.path.join(self.model_dir, name)
      if not os.path.isfile(path):
        raise ModelError(f"{self.model_dir}: no {name}")
      try:
        interpreter = Interpreter(model_path=path,
                                  num_threads=num_threads or os.cpu_count())
        interpreter.allocate_tensors()
      except (ValueError, RuntimeError) as e:
        raise ModelError(f"{path}: not a loadable TFLite model ({e})") from None
      (input_detail,) = interpreter.get_input_details()
      (output_detail,) = interpreter.get_output_details()
      runners[int(input_detail["shape"][0])] = (interpreter, input_detail["index"],
                                                output_detail["index"])
    sizes = sorted(runners)

    def run(x: np.ndarray) -> np.ndarray:
      out = []
      start = 0
      for batch in batch_plan(len(x), sizes):
        chunk = x[start:start + batch]
        padded = np.zeros((batch, *x.shape[1:]), np.float32)
        padded[:len(chunk)] = chunk
        interpreter, input_index, output_index = runners[batch]
        interpreter.set_tensor(input_index, padded)
        interpreter.invoke()
        out.append(interpreter.get_tensor(output_index)[:len(chunk)].copy())
        start += len(chunk)
      return np.concatenate(out)

    self.batch_size = sizes[-1]
    self.batch_sizes = sizes
    return run

  def _load_saved_model(self):
    import tensorflow as tf  # pylint: disable=g-import-not-at-top
    path = os.path.join(self.model_dir, SAVED_MODEL_DIR)
    try:
      serve = tf.saved_model.load(path).signatures["serving_default"]
    except (OSError, ValueError, KeyError) as e:
      raise ModelError(f"{path}: not a loadable SavedModel ({e})") from None
    output = self.metadata["output"]["name"]
    self.batch_size = None
    return lambda x: serve(images=tf.constant(x))[output].numpy()

  def predict(self, faces: np.ndarray, calibrated: bool = True) -> np.ndarray:
    """(n, 48, 48) or (n, 48, 48, 1) grey levels 0..255 -> (n, num_classes) probabilities.

    With `calibrated` the export's temperature is applied (see `ferjax.calibration`).
    For a model with the face output these are the emotions given a face.
    """
    return self.predict_with_face(faces, calibrated)[0]

  def predict_with_face(self, faces: np.ndarray, calibrated: bool = True
                        ) -> tuple[np.ndarray, np.ndarray | None]:
    """(emotion probabilities as `predict`, (n,) P(face)); None for models without it."""
    x = np.asarray(faces, np.float32)
    if x.ndim == 3:
      x = x[..., None]
    size = self.input_size
    if x.ndim != 4 or x.shape[1:] != (size, size, 1):
      raise ValueError(f"faces must be (n, {size}, {size}[, 1]), got {np.shape(faces)}")
    num_classes = len(self.class_names)
    if len(x) == 0:
      face = np.zeros(0, np.float32) if self.has_face_output else None
      return np.zeros((0, num_classes), np.float32), face
    outputs = self._run(x)
    face = outputs[:, num_classes].copy() if self.has_face_output else None
    probabilities = outputs[:, :num_classes]
    if calibrated:
      probabilities = calibration.apply_temperature(probabilities, self.temperature,
                                                    self.class_bias)
    return probabilities, face
