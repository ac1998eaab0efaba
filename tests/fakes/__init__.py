"""Real servers on loopback that stand in for the outside world in tests.

Fake telephony providers (following their documented API shapes) and
file servers.  Used by pytest, by the add-ons' Odoo tests (which put this
folder's parent on ``sys.path``), by the benchmarks and by the demo.
"""
