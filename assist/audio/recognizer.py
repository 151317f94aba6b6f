"""Streaming speech recognizers: the interface, the real Vosk one, and a scripted test double.

INTERFACE CONTRACT (filled in by the audio module):

- ``Hypothesis``: one recognizer result, partial or final, times in seconds
  relative to the samples fed to *this* recognizer.
- ``StreamRecognizer`` protocol: ``accept(pcm: bytes) -> list[Hypothesis]`` takes
  s16le mono at ``sample_rate`` and returns zero or more results (at most one
  partial, the latest); ``flush() -> list[Hypothesis]`` forces the final result
  of what was fed (end of speech or end of call). Not thread-safe: one worker
  thread at a time per recognizer.
- ``RecognizerFactory`` protocol: ``name``, ``sample_rate`` and ``create()``;
  ``VoskModelFactory(model_dir)`` loads one ``vosk.Model`` and creates one
  ``KaldiRecognizer`` per channel sharing it.
"""
