from . import call_recording_export_target
from . import call_recording_export_schedule
from . import call_recording_export
from . import call_recording_export_run
from . import call_recording
from . import call_recording_request
