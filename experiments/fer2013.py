"""FER2013 accuracy recipe: the VGG-style network, long SGD-Nesterov schedule.

    python -m ferjax.data.npz --manual_dir ~/data/fer2013 --out fer2013.npz
    python -m ferjax.train --config experiments/fer2013.py --workdir runs/fer2013 \
        --config.npz_path=fer2013.npz

(or --config.manual_dir=~/data/fer2013 to go through TFDS instead of the .npz).

Hardware: one GPU (about 0.84 GFLOPs per image forward; 4.8M parameters);
~100 epochs of the 28,709 training images at batch 128. Far too slow for a
CPU; use experiments/fer2013_cpu.py there.
Expected test (PrivateTest) accuracy: not yet measured. Model selection uses
PublicTest only; the test split is evaluated once at the end.
"""

from ferjax.train import config_lib


def get_config():
  config = config_lib.base_config()
  config.dataset = "fer2013"
  config.model = "vgg"
  config.batch_size = 128
  config.num_epochs = 100
  config.warmup_epochs = 5
  config.optimizer = "sgd"
  config.learning_rate = 0.1
  config.momentum = 0.9
  config.nesterov = True
  config.weight_decay = 5e-4
  config.grad_clip_norm = 5.0
  config.label_smoothing = 0.1
  config.mixup_alpha = 0.2
  config.log_every = 50
  config.eval_every_epochs = 2
  config.export = True
  return config
