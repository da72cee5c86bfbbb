"""Multilingual few-shot keyword spotting for microcontrollers.

Data flows corpus → frontend → features → embedding → fewshot → convert → export → simulate.
"""
from toolchain.quiet import silence_tensorflow

silence_tensorflow()  # before any module of the package imports TensorFlow

__version__ = "0.1.0"
