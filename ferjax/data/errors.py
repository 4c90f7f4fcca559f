"""The one exception type for bad dataset input."""


class DataError(ValueError):
  """Bad or missing dataset input; the message names the file (and line) at fault."""


class MissingSplit(DataError):
  """The download holds no examples of a split (e.g. a withheld test set)."""
