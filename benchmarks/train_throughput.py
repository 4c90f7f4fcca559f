"""Training throughput (images/s) of every model with the real jitted train step.

    python -m benchmarks.train_throughput            # updates BENCHMARKS.md
    python -m benchmarks.train_throughput --nowrite  # print only

Uses random FER-sized arrays (48x48 grayscale, 7 classes) held on the device,
full augmentation, the default optimizer. Reports the median of several timed
windows after compilation.
"""

from __future__ import annotations

import os
import statistics
import time

from absl import app
from absl import flags

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

import jax
import numpy as np

from benchmarks import report
from ferjax.train import config_lib
from ferjax import models
from ferjax.train import sharding
from ferjax.train import steps

_BATCH = flags.DEFINE_integer("batch_size", 64, "Global batch size.")
_WINDOWS = flags.DEFINE_integer("windows", 5, "Timed windows per model.")
_WINDOW_SECONDS = flags.DEFINE_float("window_seconds", 4.0, "Approximate length of a window.")
_WRITE = flags.DEFINE_bool("write", True, "Update the section in BENCHMARKS.md.")

TITLE = "Training throughput"
NUM_IMAGES = 4096


def measure(model: str, batch_size: int, windows: int, window_seconds: float) -> dict:
  """Median training images/s of `model` over `windows` timed windows."""
  config = config_lib.base_config()
  config.model = model
  config.batch_size = batch_size
  mesh = sharding.make_mesh()
  rng = np.random.default_rng(0)
  labels = rng.integers(0, 7, NUM_IMAGES).astype(np.int32)
  data = sharding.put({
      "image": rng.integers(0, 256, (NUM_IMAGES, 48, 48, 1)).astype(np.uint8),
      "label": labels, "target": np.eye(7, dtype=np.float32)[labels]},
      sharding.replicated(mesh))
  graphdef, rngs, state = steps.init_state(config, config_lib.run_spec(config))
  state = sharding.put(jax.device_get(state), sharding.replicated(mesh))
  train_step = steps.make_train_step(config, graphdef, rngs, NUM_IMAGES, mesh)
  start = time.perf_counter()
  state, metrics = train_step(state, data)
  jax.block_until_ready(metrics)
  compile_seconds = time.perf_counter() - start
  start = time.perf_counter()  # One more step to size the windows.
  state, metrics = train_step(state, data)
  jax.block_until_ready(metrics)
  steps_per_window = max(1, round(window_seconds / (time.perf_counter() - start)))
  rates = []
  for _ in range(windows):
    start = time.perf_counter()
    for _ in range(steps_per_window):
      state, metrics = train_step(state, data)
    jax.block_until_ready(metrics)
    rates.append(steps_per_window * batch_size / (time.perf_counter() - start))
  return {"model": model, "params": steps.count_params(state),
          "flops": steps.model_flops(graphdef, state, rngs),
          "median": statistics.median(rates), "min": min(rates), "max": max(rates),
          "compile_seconds": compile_seconds}


def _body(results: list[dict], batch_size: int) -> str:
  device = jax.devices()[0]
  fastest = max(r["median"] for r in results)
  lines = [
      report.provenance().rstrip("\n"),
      f"- JAX {jax.__version__} on {len(jax.devices())} x {device.platform} "
      f"({device.device_kind}); float32, batch {batch_size}",
      "",
      "The real jitted train step (on-device batch sampling, full augmentation, "
      "SGD-Nesterov) on random FER-sized data; median of "
      f"{_WINDOWS.value} timed windows after compilation.",
      "",
      "| model | parameters | forward MFLOPs/image | train images/s (median) | min-max | "
      "relative to fastest |",
      "|---|---|---|---|---|---|",
  ]
  for r in results:
    flops = f"{r['flops'] / 1e6:.0f}" if r["flops"] else "n/a"
    lines.append(f"| {r['model']} | {r['params']:,} | {flops} | {r['median']:.0f} | "
                 f"{r['min']:.0f}-{r['max']:.0f} | {r['median'] / fastest:.2f}x |")
  return "\n".join(lines)


def main(argv: list[str]) -> None:
  del argv
  results = []
  for name in models.MODEL_NAMES:
    result = measure(name, _BATCH.value, _WINDOWS.value, _WINDOW_SECONDS.value)
    print(f"{name}: {result['median']:.0f} images/s (min {result['min']:.0f}, max "
          f"{result['max']:.0f}; compile {result['compile_seconds']:.1f}s)")
    results.append(result)
  body = _body(results, _BATCH.value)
  report.publish(TITLE, body, _WRITE.value)


if __name__ == "__main__":
  app.run(main)
