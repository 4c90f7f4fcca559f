"""Equal-budget ablations of the real-time recipe: accuracy per CPU-minute.

    python -m benchmarks.recipe_budget --npz fer2013.npz,rafdb.npz --root runs/budget

Each arm is `experiments/realtime.py` (FER+ votes 0.6 + RAF-DB 0.4, half the faces
degraded) with one thing changed, trained for about 12 minutes of a 2-core CPU:
the epochs of each arm follow its training throughput (`benchmarks.train_throughput`
and the first minute of each run). Arms:

    resnet            the recipe: ResNet 32-64-128-256, class balance 0.3
    resnet_uniform    the same without class balance (classes as in the data)
    resnet_wide       widths 48-96-192-384
    resnet_deep       two blocks per stage
    mini_xception     the previous default network (depthwise convolutions)

The benchmark exports every arm and scores it with `tools/eval.py` on the two
validation splits only (FER+ PublicTest, RAF-DB held-out), so the choice of the
real-time network and of the class balance is made on validation data.
"""

import os

import ml_collections

from ferjax.train import config_lib

# Epochs per arm for roughly the same CPU time (train images/s relative to `resnet`).
ARM_EPOCHS = {
    "resnet": 9.0,
    "resnet_uniform": 9.0,
    "resnet_wide": 4.2,
    "resnet_deep": 4.2,
    "mini_xception": 4.0,
}


def get_config(arm: str = "resnet"):
  """The real-time recipe with one change, for a short equal-budget run."""
  if arm not in ARM_EPOCHS:
    raise config_lib.ConfigError(
        f"realtime_budget.py: unknown arm {arm!r}; use one of {', '.join(ARM_EPOCHS)}")
  config = config_lib.load_recipe(
      os.path.join(os.path.dirname(os.path.abspath(__file__)), "realtime.py"))
  config.num_epochs = ARM_EPOCHS[arm]
  config.warmup_epochs = 0.5
  config.eval_every_epochs = 0.5
  config.export = False
  config.test = False  # Arms are compared on validation only.
  if arm == "resnet_uniform":
    config.class_balance = 0.0
  elif arm == "resnet_wide":
    config.model_kwargs.widths = (48, 96, 192, 384)
    config.model_kwargs.stem = 48
  elif arm == "resnet_deep":
    config.model_kwargs.blocks_per_stage = 2
  elif arm == "mini_xception":
    config.model = "mini_xception"
    config.model_kwargs = ml_collections.ConfigDict()
  return config
