from . import call_recording_hold_release
