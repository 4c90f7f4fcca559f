"""The config of the session's smoke training run (conftest `smoke_run`).

Tests that compare their own runs with that one build their configs here.
"""

import os

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RECIPE = os.path.join(REPO_ROOT, "experiments", "smoke.py")
# On top of the recipe: mixup and label smoothing, so every kind of randomness is drawn.
OVERRIDES = dict(mixup_alpha=0.4, label_smoothing=0.1)


def make(**overrides):
  """experiments/smoke.py with OVERRIDES and no TensorBoard, then `overrides`."""
  from ferjax.train import config_lib  # pylint: disable=g-import-not-at-top
  result = config_lib.load_recipe(RECIPE)
  result.tensorboard = False
  result.update(OVERRIDES)
  result.update(overrides)
  return result


def flags(**overrides) -> list[str]:
  """`python -m ferjax.train --config experiments/smoke.py` flags for `make(**overrides)`."""
  return ["--config.tensorboard=False"] + [
      f"--config.{k}={v}" for k, v in {**OVERRIDES, **overrides}.items()]
