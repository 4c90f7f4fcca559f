"""Metrics to `metrics.jsonl` in the workdir, and to TensorBoard when it is installed."""

from __future__ import annotations

import importlib.util
import json
import os
from typing import Any

import numpy as np

METRICS_FILE = "metrics.jsonl"


def _plain(value: Any) -> Any:
  """numpy/jax scalars and arrays -> JSON-friendly Python values."""
  if isinstance(value, (str, bool, int, float)) or value is None:
    return value
  array = np.asarray(value)
  return array.item() if array.ndim == 0 else array.tolist()


def _tensorboard_available() -> bool:
  """tf.summary needs both TensorFlow and the tensorboard package."""
  return all(importlib.util.find_spec(name) is not None
             for name in ("tensorflow", "tensorboard"))


def _drop_records_after(path: str, step: int) -> None:
  """Rewrites the JSONL file at `path` without records past `step` (atomically)."""
  if not os.path.exists(path):
    return
  with open(path, encoding="utf-8") as f:
    lines = f.readlines()
  kept = []
  for line in lines:
    try:
      record_step = json.loads(line).get("step", 0)
    except (json.JSONDecodeError, AttributeError):
      continue  # A line cut short by a killed run.
    if record_step <= step:
      kept.append(line if line.endswith("\n") else line + "\n")
  if len(kept) == len(lines):
    return
  tmp = path + ".tmp"
  with open(tmp, "w", encoding="utf-8") as f:
    f.writelines(kept)
  os.replace(tmp, path)


class MetricsWriter:
  """Appends one JSON object per `write`; mirrors scalars to TensorBoard if it can.

  A run resumed at `start_step` first drops the records a killed run wrote
  after its last checkpoint, since those steps run again. Only process 0
  should write; pass `enabled=False` elsewhere.
  """

  def __init__(self, workdir: str, *, start_step: int = 0, tensorboard: bool = True,
               enabled: bool = True):
    self._enabled = enabled
    self._file = None
    self._summary_writer = None
    if not enabled:
      return
    os.makedirs(workdir, exist_ok=True)
    path = os.path.join(workdir, METRICS_FILE)
    _drop_records_after(path, start_step)
    self._file = open(path, "a", encoding="utf-8")
    if tensorboard and _tensorboard_available():
      import tensorflow as tf  # pylint: disable=g-import-not-at-top
      tf.config.set_visible_devices([], "GPU")  # Leave the accelerators to JAX.
      self._tf = tf
      self._summary_writer = tf.summary.create_file_writer(
          os.path.join(workdir, "tensorboard"))

  def write(self, step: int, metrics: dict[str, Any]) -> None:
    """Records `metrics` at `step`; non-scalar values go to the JSONL file only."""
    if not self._enabled:
      return
    record = {"step": int(step), **{k: _plain(v) for k, v in metrics.items()}}
    self._file.write(json.dumps(record) + "\n")
    self._file.flush()
    if self._summary_writer is not None:
      with self._summary_writer.as_default(step=int(step)):
        for key, value in record.items():
          if key != "step" and isinstance(value, (int, float)) and not isinstance(value, bool):
            self._tf.summary.scalar(key, value)
      self._summary_writer.flush()

  def close(self) -> None:
    if self._file is not None:
      self._file.close()
    if self._summary_writer is not None:
      self._summary_writer.close()
