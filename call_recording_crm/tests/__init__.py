from . import test_crm_calls
