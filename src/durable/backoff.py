"""``durable.backoff``: alias of :mod:`durable_workflow.lite.backoff`."""

from __future__ import annotations

from durable_workflow.lite.backoff import *  # noqa: F403 - a pure alias
from durable_workflow.lite.backoff import __all__ as __all__
