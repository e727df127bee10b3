"""Records: the host side's data objects, without a class definition each.

Defining a class costs a host CLI about 72k instructions when the module that
holds it is imported (``type.__new__`` fills every slot); an instance of
``types.SimpleNamespace`` costs a few thousand and reads the same
(``record.name``). So the host side's records (an allowlist entry, the
settings, the invocation and its outcome) are built with :data:`Record`, and
typed for mypy by ``Protocol`` classes that exist only for the type checker
(``if TYPE_CHECKING:`` in each module).
"""

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import SimpleNamespace as Record
else:
    # types.SimpleNamespace, found without importing the types module.
    Record = type(sys.implementation)
