from . import controllers
from . import models
from . import report
from . import wizard


def uninstall_hook(env):
    # the report's totals: tables, functions and triggers made by SQL
    env["call.recording.report.rollup"]._drop()
