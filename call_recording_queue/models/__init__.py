from . import call_recording_provider
from . import call_recording_sync_log
