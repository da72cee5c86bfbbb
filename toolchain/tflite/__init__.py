"""The .tflite format and the TFLM runtime, below every package that makes or reads a model."""
