"""Multilingual few-shot keyword spotting for microcontrollers.

Data flows corpus → frontend → features → embedding → fewshot → convert → export → simulate.
"""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"
