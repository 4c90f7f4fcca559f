"""Every recipe in experiments/ loads and passes config validation."""

import glob
import importlib.util
import os

import pytest

from ferjax import config_lib

EXPERIMENTS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                           "experiments")
RECIPES = sorted(glob.glob(os.path.join(EXPERIMENTS, "*.py")))


def _load(path):
  spec = importlib.util.spec_from_file_location(os.path.basename(path)[:-3], path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module.get_config()


@pytest.mark.parametrize("path", RECIPES, ids=os.path.basename)
def test_recipe_is_valid(path):
  config_lib.validate(_load(path))


def test_restart_recipe_continues_the_cpu_recipe():
  stage1 = _load(os.path.join(EXPERIMENTS, "fer2013_cpu.py"))
  stage2 = _load(os.path.join(EXPERIMENTS, "fer2013_cpu_restart.py"))
  assert stage2.init_from and not stage1.init_from
  assert stage2.model == stage1.model and stage2.model_kwargs == stage1.model_kwargs
  assert stage2.learning_rate < stage1.learning_rate
