"""The real-time model for classroom faces: a CPU ResNet on FER+ crowd votes and RAF-DB.

    python -m ferjax.data.npz --manual_dir ~/data/fer2013 --out fer2013.npz   # + fer2013new.csv
    python -m ferjax.data.npz --dataset rafdb --manual_dir ~/data/rafdb --out rafdb.npz
    python -m ferjax.train --config experiments/realtime.py --workdir runs/realtime \
        --config.npz_path=fer2013.npz,rafdb.npz

Data: FER2013's faces with FER+'s 10 crowd votes as soft targets over the 7
emotions (rows without a FER+ majority, or whose majority is contempt, unknown
or not-a-face, are left out), and RAF-DB basic's in-the-wild faces (hard labels,
~40 annotators each) cropped with the live tool's detector and framing. Each
batch draws 60% FER+ and 40% RAF-DB; within a dataset, class c is drawn with
weight count(c)^-0.3 (disgust and fear up-weighted about 2-3x). Half of the
faces are degraded as a classroom camera does (12-48 px and back, blur, noise,
low contrast). Selection: mean of FER+ PublicTest and RAF-DB held-out
validation accuracy.

Hardware: a 2-core CPU; ResNet 32-64-128-256, 1.2M parameters, 61 MFLOPs.

Measured (the shipped ferjax/pretrained/realtime, exported with
`python -m ferjax.train.export --workdir runs/realtime --out DIR --tflite_float16`):
50 epochs (28,050 steps of 64) on a 2-core AMD EPYC CPU in 84 minutes, shared with
other jobs (median 417 training images/s); best checkpoint by mean validation
accuracy at step 27,489. From `tools/eval.py` (no TTA):
    FER+ validation (majority, 7 emotions) 84.84%   FER+ test 82.72% (macro-F1 0.713)
    RAF-DB held-out validation 79.97% (lowest class recall: disgust 51.3%)
    FER2013 PublicTest 58.29%, PrivateTest 58.32% (original single-annotator labels)
    FER+ test at 24 / 16 / 12 px faces: 80.4% / 74.7% / 66.4%
Temperature 0.696 (fitted on both validation splits; ECE 0.099 -> 0.010 there).
A longer schedule did not help either: the same recipe for 80 epochs
(`--config.num_epochs=80`; 44,880 steps in 118 minutes on the same CPU, shared)
selected step 43,197 at 82.40% mean validation accuracy in training, and by
`tools/eval.py` read FER+ validation 84.59% (shipped 84.84%) and RAF-DB validation
80.21% (79.97%) on the unaligned crops, 79.33% (79.33%) on the eye-aligned crops the
preparation now makes: a tie, so the 50-epoch model stays.
Neither continuation beat it on mean validation accuracy, so neither was shipped:
the `:finetune` stage (8 more epochs at peak rate 0.01) reached 81.64%, the
`:restart` stage (a second 40-epoch cosine cycle at peak rate 0.03; 22,440 steps in
95 minutes on the same CPU, shared) 82.24% at its best step 21,879, against 82.36%.
"""

from ferjax.train import config_lib


def get_config(stage: str = ""):
  """The full run by default; `finetune` or `restart` continue from the shipped model.

  `finetune`: 8 epochs at peak rate 0.01. `restart`: a second 40-epoch cosine
  cycle at peak rate 0.03 (a warm restart, fresh optimiser state).
  """
  config = config_lib.base_config()
  config.dataset = "ferplus"
  config.mixture = "ferplus:0.6,rafdb:0.4"
  config.num_classes = 7
  config.soft_labels = True
  config.class_balance = 0.3
  config.model = "resnet"
  config.model_kwargs = dict(widths=(32, 64, 128, 256), blocks_per_stage=1, dropout=0.3)
  config.batch_size = 64
  config.num_epochs = 50
  config.warmup_epochs = 1
  config.eval_every_epochs = 1
  config.optimizer = "sgd"
  config.learning_rate = 0.05
  config.momentum = 0.9
  config.nesterov = True
  config.weight_decay = 5e-4
  config.grad_clip_norm = 5.0
  config.label_smoothing = 0.05
  config.mixup_alpha = 0.0
  config.augment.degrade = 0.5
  config.log_every = 100
  config.export = True
  if stage == "finetune":
    config.init_from = "runs/realtime"
    config.num_epochs = 8
    config.warmup_epochs = 0.5
    config.learning_rate = 0.01
  elif stage == "restart":
    config.init_from = "ferjax/pretrained/realtime"
    config.num_epochs = 40
    config.warmup_epochs = 1
    config.learning_rate = 0.03
  elif stage:
    raise config_lib.ConfigError(
        f"realtime.py: unknown stage {stage!r}; use :finetune or :restart")
  return config
