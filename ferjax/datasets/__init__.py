"""TFDS builders for ferjax's datasets; importing this package registers them.

    import ferjax.datasets  # registers fer2013, ferplus, rafdb, expw, kdef, jaffe
    tfds.load("fer2013", split="test", data_dir=...,
              download_and_prepare_kwargs={"download_config":
                  tfds.download.DownloadConfig(manual_dir=...)})
"""

from ferjax.datasets.expw import Expw
from ferjax.datasets.fer2013 import Fer2013, Ferplus
from ferjax.datasets.jaffe import Jaffe
from ferjax.datasets.kdef import Kdef
from ferjax.datasets.rafdb import Rafdb

__all__ = ["Expw", "Fer2013", "Ferplus", "Jaffe", "Kdef", "Rafdb"]
