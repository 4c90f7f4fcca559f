"""Every recipe in experiments/ loads and passes config validation."""

import glob
import os

import pytest

from ferjax.train import config_lib

EXPERIMENTS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                           "experiments")
RECIPES = sorted(glob.glob(os.path.join(EXPERIMENTS, "*.py")))


@pytest.mark.parametrize("path", RECIPES, ids=os.path.basename)
def test_recipe_is_valid(path):
  config_lib.validate(config_lib.load_recipe(path))


def test_restart_stage_continues_the_cpu_recipe():
  stage1 = config_lib.load_recipe(os.path.join(EXPERIMENTS, "fer2013_cpu.py"))
  stage2 = config_lib.load_recipe(os.path.join(EXPERIMENTS, "fer2013_cpu.py:restart"))
  assert stage2.init_from and not stage1.init_from
  assert stage2.model == stage1.model and stage2.model_kwargs == stage1.model_kwargs
  assert stage2.learning_rate < stage1.learning_rate


def test_unknown_stage_and_missing_recipe_are_config_errors():
  with pytest.raises(config_lib.ConfigError, match="unknown stage 'x'"):
    config_lib.load_recipe(os.path.join(EXPERIMENTS, "fer2013_cpu.py:x"))
  with pytest.raises(config_lib.ConfigError, match="does not exist"):
    config_lib.load_recipe(os.path.join(EXPERIMENTS, "nope.py"))


def test_epochs_become_steps_from_the_data_size():
  config = config_lib.load_recipe(os.path.join(EXPERIMENTS, "fer2013_cpu.py"))
  resolved = config_lib.with_steps(config, num_train=28_709)
  assert resolved.total_steps == 20 * (28_709 // 64)
  assert resolved.warmup_steps == resolved.eval_every == 28_709 // 64
  config.batch_size = 256  # A bigger batch trains for the same number of epochs.
  bigger = config_lib.with_steps(config, num_train=28_709)
  assert bigger.total_steps == 20 * (28_709 // 256)


def test_budget_arms_change_one_thing_of_the_realtime_recipe():
  recipe = config_lib.load_recipe(os.path.join(EXPERIMENTS, "realtime.py"))
  budget = os.path.join(EXPERIMENTS, "realtime_budget.py")
  names = list(config_lib.load_module(budget).ARM_EPOCHS)
  assert names == ["resnet", "resnet_uniform", "resnet_wide", "resnet_deep", "mini_xception"]
  arms = {arm: config_lib.load_recipe(f"{budget}:{arm}") for arm in names}
  ignored = {"num_epochs", "warmup_epochs", "eval_every_epochs", "export", "test"}
  def changed(config):
    return {k for k in recipe if k not in ignored and config[k] != recipe[k]}
  assert changed(arms["resnet"]) == set()
  assert changed(arms["resnet_uniform"]) == {"class_balance"}
  assert changed(arms["resnet_wide"]) == changed(arms["resnet_deep"]) == {"model_kwargs"}
  assert changed(arms["mini_xception"]) == {"model", "model_kwargs"}
  for config in arms.values():
    config_lib.validate(config)
    assert not config.test  # Scored on validation splits only.
  with pytest.raises(config_lib.ConfigError, match="unknown arm"):
    config_lib.load_recipe(f"{budget}:bogus")


def test_the_one_network_stages_continue_from_the_previous_stage():
  first = config_lib.load_recipe(os.path.join(EXPERIMENTS, "realtime_single.py"))
  face = config_lib.load_recipe(os.path.join(EXPERIMENTS, "realtime_single.py:face"))
  longer = config_lib.load_recipe(os.path.join(EXPERIMENTS, "realtime_single.py:longer"))
  assert first.face_output and face.face_output and longer.face_output
  assert face.init_from.endswith("single/export")  # The first stage's export.
  assert longer.init_from == "ferjax/pretrained/realtime_single"  # The shipped model.
  assert os.path.isdir(os.path.join(os.path.dirname(EXPERIMENTS), longer.init_from))
  assert longer.num_epochs > face.num_epochs and longer.distill_from == first.distill_from
  hard = config_lib.load_recipe(os.path.join(EXPERIMENTS, "realtime_single.py:hard"))
  assert hard.face_output and hard.init_from.endswith("single_face/export")  # :face's.
  assert hard.mixture == face.mixture and hard.learning_rate < face.learning_rate
