from . import call_recording_export_target
