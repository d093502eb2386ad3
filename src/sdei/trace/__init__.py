"""Observers of a run: the recorder, the terminal timeline and the state at every step."""

from sdei.trace.recorder import Record, Recorder, function_name, result_text
from sdei.trace.timeline import timeline

__all__ = ["Record", "Recorder", "function_name", "result_text", "timeline"]
