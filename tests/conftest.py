"""pytest set-up for the plain-Python parts of the suite.

Protocol code lives in each add-on's ``lib/`` package and must not need the
ORM: it is loaded here as a standalone package (``<addon>_lib``), without
importing the add-on, so a hidden dependency on Odoo fails these tests.
"""

import importlib.util
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _load_lib(addon):
    lib_dir = REPO / addon / "lib"
    name = f"{addon}_lib"
    spec = importlib.util.spec_from_file_location(
        name, lib_dir / "__init__.py", submodule_search_locations=[str(lib_dir)]
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


for _manifest in sorted(REPO.glob("*/__manifest__.py")):
    if (_manifest.parent / "lib" / "__init__.py").exists():
        _load_lib(_manifest.parent.name)
