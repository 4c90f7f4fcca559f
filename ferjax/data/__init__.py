"""Dataset parsing shared by the TFDS builders and the TensorFlow-free numpy loader."""
