"""FER2013 on a CPU, stage 2: a second cosine cycle for the compact network.

A warm restart: the weights of a finished `fer2013_cpu.py` run (its workdir,
or its export folder), a fresh AdamW state and a new warmup + cosine schedule
at half the peak rate. It lets a CPU user extend training in a separate,
resumable run:

    python -m ferjax.train --config experiments/fer2013_cpu_restart.py \
        --workdir runs/fer2013_cpu_restart --config.npz_path=fer2013.npz \
        --config.init_from=runs/fer2013_cpu

Hardware: a CPU; same network and speed as `fer2013_cpu.py`.

Measured (the shipped models/realtime): started from the stage-1 model
(PublicTest 62.55%), 24 epochs on a 2-core Xeon CPU in 64 minutes; best
checkpoint by PublicTest at the last step, validation 63.92%; PrivateTest
accuracy 64.59% (65.81% with flip TTA, 65.48% ten-crop), from
    python tools/eval.py --dataset fer2013 --split test --manual_dir ~/data/fer2013
Model selection uses PublicTest only; the test split is evaluated once.
"""

import importlib.util
import os


def _stage1_config():
  """The `fer2013_cpu.py` recipe, which this one continues."""
  path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fer2013_cpu.py")
  spec = importlib.util.spec_from_file_location("fer2013_cpu", path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module.get_config(), module.STEPS_PER_EPOCH


def get_config():
  config, steps_per_epoch = _stage1_config()
  config.init_from = "runs/fer2013_cpu"
  config.total_steps = 24 * steps_per_epoch
  config.learning_rate = 1e-3  # Half the stage-1 peak.
  return config
