"""Observers of a run: the recorder and the terminal timeline (Perfetto and PNG come later)."""

from sdei.trace.recorder import Record, Recorder, function_name, result_text
from sdei.trace.timeline import timeline

__all__ = ["Record", "Recorder", "function_name", "result_text", "timeline"]
