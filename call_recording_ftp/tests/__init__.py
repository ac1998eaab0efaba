from . import test_export
from . import test_failures
from . import test_template
from . import test_remote_audio
from . import test_security
