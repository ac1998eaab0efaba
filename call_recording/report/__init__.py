from . import call_recording_report
