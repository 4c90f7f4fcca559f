"""FER2013 on a laptop CPU: the compact real-time network (mini-Xception style).

    python -m ferjax.data.npz --manual_dir ~/data/fer2013 --out fer2013.npz
    python -m ferjax.train --config experiments/fer2013_cpu.py --workdir runs/fer2013_cpu \
        --config.npz_path=fer2013.npz

Hardware: a CPU. 0.19M parameters, ~38 MFLOPs per image forward; 130-240
training images/s on 2 shared cores (BENCHMARKS.md).

Measured (stage 1 of the shipped models/realtime, which
`fer2013_cpu_restart.py` then trained further): 20 epochs on a 2-core Xeon CPU in 55
minutes (sharing the cores with other jobs); best checkpoint by PublicTest at
the last step, validation 62.55%; PrivateTest accuracy 63.14% (63.42% with
flip TTA), from
    python tools/eval.py --dataset fer2013 --split test --manual_dir ~/data/fer2013
Model selection uses PublicTest only; the test split is evaluated once.
"""

from ferjax import config_lib

STEPS_PER_EPOCH = 28_709 // 64


def get_config():
  config = config_lib.base_config()
  config.dataset = "fer2013"
  config.model = "mini_xception"
  config.batch_size = 64
  config.total_steps = 20 * STEPS_PER_EPOCH
  config.warmup_steps = STEPS_PER_EPOCH
  config.optimizer = "adamw"
  config.learning_rate = 2e-3
  config.weight_decay = 1e-4
  config.grad_clip_norm = 5.0
  config.label_smoothing = 0.1
  config.log_every = 50
  config.eval_every = STEPS_PER_EPOCH
  config.export = True
  return config
