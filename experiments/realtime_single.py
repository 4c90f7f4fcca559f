"""One real-time ResNet that reads emotions and knows "not a face": the shipped default.

    python -m ferjax.data.npz --manual_dir ~/data/fer2013 --out fer2013.npz   # + fer2013new.csv
    python -m ferjax.data.npz --dataset rafdb --manual_dir ~/data/rafdb --out rafdb.npz
    python -m ferjax.data.nonface --wider_dir ~/data/wider_face_indoor \
        --fer2013_npz fer2013.npz --out nonface.npz
    python -m ferjax.train --config experiments/realtime_single.py --workdir runs/single \
        --config.npz_path=fer2013.npz,rafdb.npz,nonface.npz

The recipe of `experiments/realtime.py` (the same network, data, augmentation
and class balance), changed in three ways:

- **Distilled from the shipped pair.** Every training face's target is half
  its label (FER+ votes, RAF-DB label) and half the pair's mean softmax output
  (`distill_from`), so one network learns what two agree on.
- **A "not a face" output** (`face_output`), trained on `nonface`: the live
  detector's own false positives, background and face-margin squares cut from
  WIDER FACE's indoor photos (never from its two measurement events), and
  FER+'s not-a-face rows, beside the real WIDER faces of the same photos
  (labelled by the pair). The export turns it into P(face).
- **Warm start** from the pair's first network (`init_from`, member 0), whose
  emotion outputs keep their weights; the new output starts as initialised.

Selection: mean of FER+ PublicTest and RAF-DB held-out validation accuracy (a
face called "not a face" counts as an error); the nonface validation patches
are watched (share of faces and non-faces rejected) but do not select.
"""

import os

from ferjax.train import config_lib

SHIPPED_PAIR = "ferjax/pretrained/realtime"


def get_config(arg: str = ""):
  """The distilled single network; `arg` may name the pair export (default the shipped one)."""
  base = config_lib.load_module(os.path.join(os.path.dirname(__file__), "realtime.py"))
  config = base.get_config()
  teacher = arg or SHIPPED_PAIR
  config.mixture = "ferplus:0.5,rafdb:0.35,nonface:0.15"
  config.face_output = True
  config.distill_from = teacher
  config.distill_weight = 0.5
  config.init_from = teacher
  config.init_member = 0
  config.num_epochs = 6
  config.warmup_epochs = 0.5
  config.learning_rate = 0.02
  return config
