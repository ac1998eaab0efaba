from . import call_recording_file
from . import call_recording_fs_removal
from . import fs_storage
