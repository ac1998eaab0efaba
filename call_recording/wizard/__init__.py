from . import call_recording_hold_release
from . import call_recording_upload
from . import call_recording_push_user
from . import call_recording_consent_erase
from . import call_recording_request_extend
