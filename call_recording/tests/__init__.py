from . import test_access
from . import test_audio
from . import test_compliance
from . import test_matching
from . import test_model
from . import test_report
from . import test_tour
from . import test_push_api
