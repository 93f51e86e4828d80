"""``durable``: the seed-004 import name for :mod:`durable_workflow.lite`.

``from durable import Workflow`` and ``from durable.backoff import exponential`` work as in
python-durable's README. (That project also installs a ``durable`` package; install one or
the other in an environment.)
"""

from __future__ import annotations

from durable_workflow.lite import *  # noqa: F403 - a pure alias
from durable_workflow.lite import __all__ as __all__
from durable_workflow.lite import backoff as backoff
