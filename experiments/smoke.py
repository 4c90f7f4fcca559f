"""Smoke test: a tiny compact model on generated data; runs in seconds on a CPU.

    python -m ferjax.train --config experiments/smoke.py --workdir /tmp/ferjax_smoke

Hardware: any CPU. Needs no dataset (dataset='synthetic', generated
deterministically). Expected: validation accuracy well above chance (1/7);
it checks the pipeline, it says nothing about facial expressions.
"""

from ferjax.train import config_lib


def get_config():
  config = config_lib.base_config()
  config.dataset = "synthetic"
  config.synthetic_sizes = (512, 256, 256)
  config.model = "mini_xception"
  config.model_kwargs = dict(stem=8, widths=(16, 32))
  config.batch_size = 32
  config.total_steps = 60
  config.warmup_steps = 5
  config.learning_rate = 0.05
  config.log_every = 10
  config.eval_every = 30
  config.eval_batch_size = 256
  config.export = False
  return config
