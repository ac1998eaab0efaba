from . import call_recording
from . import call_recording_access_log
from . import call_recording_demo
from . import ir_binary
from . import res_config_settings
from . import res_partner
