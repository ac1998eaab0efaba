"""What the job tests of the queue add-ons share: a worker killed mid-way, a lock held elsewhere."""

from contextlib import contextmanager

from odoo.sql_db import db_connect


class Killed(BaseException):
    """The worker dies mid-way (not an Exception: nothing may catch it)."""


@contextmanager
def advisory_lock_elsewhere(env, key, res_id):
    """The advisory lock ``(key, res_id)`` held by another database session."""
    other = db_connect(env.cr.dbname).cursor()
    try:
        other.execute("SELECT pg_advisory_lock(%s, %s)", (key, res_id))
        yield
    finally:
        other.execute("SELECT pg_advisory_unlock(%s, %s)", (key, res_id))
        other.close()


class KilledJobMixin:
    """For test cases whose jobs are killed mid-way."""

    def run_killed(self, job):
        """Run ``job`` until it is killed, keeping what it wrote (as its commits
        would; Odoo's assertRaises would roll it back)."""
        try:
            job()
        except Killed:
            return
        self.fail("the job was not killed")
