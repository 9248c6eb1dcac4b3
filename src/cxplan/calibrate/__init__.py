"""Calibration: turn the data companies have (event logs, customer paths, surveys) into
scenario fragments whose numbers are the observed frequencies, each with its counts.

A layer of its own (pyproject's import-linter contract): it reads data files and produces
scenario data; nothing below it imports it, and it imports only the scenario format and
the basic helpers. Needs the `calibrate` extra (pyarrow, defusedxml).
"""

from cxplan.calibrate.calibration import (
    Calibration,
    calibrate_log,
    calibrate_paths,
    calibrate_survey,
)
from cxplan.calibrate.log import LogOptions
from cxplan.calibrate.mapping import Mapping, read_mapping
from cxplan.calibrate.paths import PathOptions
from cxplan.calibrate.survey import SurveyOptions

__all__ = ["Calibration", "LogOptions", "Mapping", "PathOptions", "SurveyOptions",
           "calibrate_log", "calibrate_paths", "calibrate_survey", "read_mapping"]
