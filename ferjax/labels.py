"""The emotion classes and the face size shared by every dataset, model and tool.

Indices follow the FER2013 challenge order. FER+ adds ``contempt`` as index 7;
datasets that have it append it, so indices 0-6 mean the same thing everywhere.
"""

from __future__ import annotations

EMOTIONS: tuple[str, ...] = (
    "angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
FERPLUS_EMOTIONS: tuple[str, ...] = EMOTIONS + ("contempt",)
NUM_CLASSES = len(EMOTIONS)
# Side of the square grey face every model reads (FER2013's), in pixels.
FACE_SIZE = 48

# Folder names and codes that people use for the same class.
_SYNONYMS: dict[str, str] = {
    "angry": "angry", "anger": "angry", "mad": "angry",
    "disgust": "disgust", "disgusted": "disgust",
    "fear": "fear", "afraid": "fear", "fearful": "fear", "scared": "fear",
    "happy": "happy", "happiness": "happy", "joy": "happy",
    "sad": "sad", "sadness": "sad",
    "surprise": "surprise", "surprised": "surprise",
    "neutral": "neutral", "calm": "neutral",
    "contempt": "contempt",
}


def canonical_emotion(name: str) -> str | None:
  """Maps a class name or synonym (any case) to its canonical name, else None."""
  return _SYNONYMS.get(name.strip().lower().replace("-", "_").replace(" ", "_"))


def emotion_index(name: str) -> int | None:
  """Index of a 7-class emotion name or synonym; None if it is not one of the 7."""
  canonical = canonical_emotion(name)
  if canonical is None or canonical not in EMOTIONS:
    return None
  return EMOTIONS.index(canonical)
