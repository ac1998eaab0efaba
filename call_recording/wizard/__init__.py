from . import call_recording_hold_release
from . import call_recording_upload
from . import call_recording_push_user
