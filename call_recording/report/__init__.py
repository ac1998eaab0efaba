from . import call_recording_report_rollup
from . import call_recording_report
