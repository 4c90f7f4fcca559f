"""The config of the session's smoke training run (conftest `smoke_run`).

Tests that compare their own runs with that one build their configs here.
"""

import os

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RECIPE = os.path.join(REPO_ROOT, "experiments", "smoke.py")
# On top of the recipe: mixup and label smoothing, so every kind of randomness is drawn.
OVERRIDES = dict(mixup_alpha=0.4, label_smoothing=0.1)
# Device-count runs (conftest `one_device_run` is their one-device reference): a few steps
# (longer runs amplify float reordering chaotically) of a one-block network, which
# compiles in less time for every device count.
FEW_STEPS = {"eval_every": 3, "stop_after": 3, "model_kwargs.widths": (16,)}


def make(**overrides):
  """experiments/smoke.py with OVERRIDES and no TensorBoard, then `overrides`.

  A dotted key ("model_kwargs.widths") sets one field of a nested dict, as on the command line.
  """
  from ferjax.train import config_lib  # pylint: disable=g-import-not-at-top
  result = config_lib.load_recipe(RECIPE)
  result.tensorboard = False
  result.update(OVERRIDES)
  result.update({k: v for k, v in overrides.items() if "." not in k})
  result.update_from_flattened_dict({k: v for k, v in overrides.items() if "." in k})
  return result


def flags(**overrides) -> list[str]:
  """`python -m ferjax.train --config experiments/smoke.py` flags for `make(**overrides)`."""
  return ["--config.tensorboard=False"] + [
      f"--config.{k}={v}" for k, v in {**OVERRIDES, **overrides}.items()]
