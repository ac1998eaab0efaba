"""What the file servers of the export tests share with the provider fakes.

One server serves many tests: :meth:`ServedFolder.reset` empties its
folder (but its read-only folders) and clears its faults, as
:meth:`fakes.base.FakeProvider.reset` forgets a provider's calls and
faults; and a server is used in a ``with`` block that stops it.
"""

import os
import shutil


def empty_folder(root, keep=()):
    """Remove everything in ``root`` but the entries named in ``keep``."""
    for child in os.listdir(root):
        if child in keep:
            continue
        path = os.path.join(root, child)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        else:
            os.unlink(path)


class ServedFolder:
    """Mixin of a file server serving ``root``; subclasses define ``stop()``."""

    #: folders under ``root`` the server keeps read-only, never emptied
    readonly = ("readonly",)
    #: the server's fault switches (an object with ``reset()``), if it has any
    faults = None

    def reset(self):
        """Empty the served folder (but the read-only folders) and clear the faults."""
        empty_folder(self.root, self.readonly)
        if self.faults is not None:
            self.faults.reset()

    def stop(self):
        raise NotImplementedError

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
