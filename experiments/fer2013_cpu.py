"""FER2013 on a laptop CPU: the compact real-time network (mini-Xception style).

    python -m ferjax.data.npz --manual_dir ~/data/fer2013 --out fer2013.npz
    python -m ferjax.train --config experiments/fer2013_cpu.py --workdir runs/fer2013_cpu \
        --config.npz_path=fer2013.npz
    # Stage 2, a warm restart (fresh AdamW state, a second cosine cycle at half the
    # peak rate) from the stage-1 workdir or its export:
    python -m ferjax.train --config experiments/fer2013_cpu.py:restart \
        --workdir runs/fer2013_cpu_restart --config.npz_path=fer2013.npz \
        --config.init_from=runs/fer2013_cpu

Hardware: a CPU. 0.19M parameters, ~38 MFLOPs per image forward; 130-240
training images/s on 2 shared cores (BENCHMARKS.md).

Measured (stage 1 of the model shipped until the ResNet of experiments/realtime.py
replaced it; its `:restart` stage then trained further): 20 epochs on a 2-core Xeon CPU in 55
minutes (sharing the cores with other jobs); best checkpoint by PublicTest at
the last step, validation 62.55%; PrivateTest accuracy 63.14% (63.42% with
flip TTA), from
    python tools/eval.py --dataset fer2013 --split test --manual_dir ~/data/fer2013
Stage 2 (`:restart`, the previously shipped real-time model): from the stage-1
model (PublicTest 62.55%), 24 epochs in 64 minutes; validation 63.92%,
PrivateTest 64.59% (65.81% with flip TTA, 65.48% ten-crop).
Model selection uses PublicTest only; the test split is evaluated once.
"""

from ferjax.train import config_lib


def get_config(stage: str = ""):
  """Stage 1 by default; `restart` for the warm-restart stage 2."""
  config = config_lib.base_config()
  config.dataset = "fer2013"
  config.model = "mini_xception"
  config.batch_size = 64
  config.num_epochs = 20
  config.warmup_epochs = 1
  config.eval_every_epochs = 1
  config.optimizer = "adamw"
  config.learning_rate = 2e-3
  config.weight_decay = 1e-4
  config.grad_clip_norm = 5.0
  config.label_smoothing = 0.1
  config.log_every = 50
  config.export = True
  if stage == "restart":
    config.init_from = "runs/fer2013_cpu"
    config.num_epochs = 24
    config.learning_rate = 1e-3  # Half the stage-1 peak.
  elif stage:
    raise config_lib.ConfigError(f"fer2013_cpu.py: unknown stage {stage!r}; use :restart")
  return config
