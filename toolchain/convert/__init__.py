"""Keras → TFLite (float and full-integer int8), and what the result costs on a device."""
