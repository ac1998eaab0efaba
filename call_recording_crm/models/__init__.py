from . import call_recording
from . import crm_lead
