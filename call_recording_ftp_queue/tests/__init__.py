from . import test_export_jobs
