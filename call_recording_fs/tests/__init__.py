from . import test_object_storage
from . import test_outage_and_security
from . import test_suite_on_object_storage
from . import test_ftp_on_object_storage
