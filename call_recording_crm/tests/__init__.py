from . import test_crm_calls
from . import test_lead_matching
