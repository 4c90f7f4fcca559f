"""FER+ (8 emotions incl. contempt) with soft labels from the crowd votes.

    python -m ferjax.data.npz --manual_dir ~/data/fer2013 --out fer2013.npz  # with fer2013new.csv
    python -m ferjax.train --config experiments/ferplus.py --workdir runs/ferplus \
        --config.npz_path=fer2013.npz

Targets are the votes normalised over the 8 emotions; accuracy is against the
FER+ majority label. Hardware: one GPU (the VGG-style network, ~100 epochs).
Expected test accuracy: not yet measured.
"""

from ferjax.train import config_lib


def get_config():
  config = config_lib.base_config()
  config.dataset = "ferplus"
  config.soft_labels = True
  config.model = "vgg"
  config.batch_size = 128
  config.num_epochs = 100
  config.warmup_epochs = 5
  config.optimizer = "sgd"
  config.learning_rate = 0.1
  config.nesterov = True
  config.weight_decay = 5e-4
  config.mixup_alpha = 0.2
  config.log_every = 50
  config.eval_every_epochs = 2
  config.export = True
  return config
