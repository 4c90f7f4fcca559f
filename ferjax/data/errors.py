"""The one exception type for bad dataset input."""


class DataError(ValueError):
  """Bad or missing dataset input; the message names the file (and line) at fault."""
