"""The line between the programs: evaluation and live analysis run without the training
extra (JAX, Flax, TensorFlow, TFDS, ml_collections)."""

import pkgutil
import subprocess
import sys

import pytest

import ferjax
from ferjax.cli import TRAIN_MODULES

TRAIN_ONLY = TRAIN_MODULES  # What only `pip install "ferjax[train]"` brings.
SERVING_PACKAGES = ("ferjax.evaluation", "ferjax.live", "ferjax.faces", "ferjax.data")
SERVING_MODULES = ("ferjax.inference", "ferjax.calibration", "ferjax.labels", "ferjax.cli",
                   "ferjax.files")


def _modules_of(package: str) -> list[str]:
  module = __import__(package, fromlist=["_"])
  return [package] + [f"{package}.{m.name}" for m in pkgutil.iter_modules(module.__path__)]


@pytest.mark.parametrize("package", SERVING_PACKAGES)
def test_serving_side_imports_nothing_of_the_training_extra(package):
  """Every module of the package (one process each: the CLIs define the same flags)."""
  modules = _modules_of(package) + list(SERVING_MODULES)
  code = ("import importlib, sys\n"
          f"TRAIN_ONLY = {TRAIN_ONLY!r}\n"
          f"for name in {modules!r}:\n"
          "  importlib.import_module(name)\n"
          "bad = sorted(m for m in sys.modules if m.split('.')[0] in TRAIN_ONLY)\n"
          "assert not bad, bad[:5]\n")
  result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
  assert result.returncode == 0, result.stderr[-2000:]


def test_top_level_package_is_grouped_by_program():
  top = {m.name for m in pkgutil.iter_modules(ferjax.__path__)}
  assert {"train", "evaluation", "live", "faces", "data", "datasets", "models"} <= top
  loose = {m.name for m in pkgutil.iter_modules(ferjax.__path__) if not m.ispkg}
  assert loose == {"labels", "inference", "calibration", "cli", "files"}


def test_imports_go_one_way_between_the_live_tool_and_the_generator():
  """The demo source generates a classroom; the generator writes video through
  `ferjax.files`, not through the live tool's sources."""
  code = ("import sys\n"
          "import ferjax.files\n"
          "below = [m for m in sys.modules if m.startswith(('ferjax.live', 'ferjax.synthetic'))]\n"
          "assert not below, below\n"
          "import ferjax.synthetic.classroom\n"
          "assert 'ferjax.live.sources' not in sys.modules\n")
  result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
  assert result.returncode == 0, result.stderr[-2000:]
