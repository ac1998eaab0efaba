from . import (
    call_recording,
    call_recording_access_log,
    call_recording_demo,
    ir_binary,
    res_config_settings,
    res_partner,
)
