"""``ServerConfig`` and ``ServerRuntime``: store + engine + sweeper + API, opened and closed together."""

from __future__ import annotations

from dataclasses import dataclass, field

from .api import Api, ApiSettings, Authenticator
from .engine.clock import Clock, RealClock
from .engine.config import EngineConfig
from .engine.control import attach_control_plane
from .engine.service import Engine
from .engine.sweeper import Sweeper
from .engine.wakeups import Wakeups
from .store import Store, open_store, retry_conflicts

__all__ = ["ServerConfig", "ServerRuntime"]

try:
    from importlib.metadata import version as _dist_version

    SERVER_VERSION = _dist_version("durable-workflow-py")
except Exception:  # running from a source tree without metadata
    SERVER_VERSION = "0.0.0"


@dataclass
class ServerConfig:
    db_url: str = "sqlite:///durable_workflow.db"
    token: str | None = None  # shared full-access token (worker + operator + admin)
    worker_token: str | None = None
    operator_token: str | None = None
    admin_token: str | None = None
    workflow_task_lease_seconds: float = 60.0
    activity_lease_seconds: float = 300.0
    max_payload_bytes: int = 2 * 1024 * 1024
    max_poll_seconds: int = 60
    server_id: str = "durable-workflow-py"
    clock: Clock | None = field(default=None, repr=False)  # tests pass a FakeClock

    def validate(self) -> None:
        problems = []
        if self.workflow_task_lease_seconds <= 0:
            problems.append("workflow_task_lease_seconds must be > 0")
        if self.activity_lease_seconds <= 0:
            problems.append("activity_lease_seconds must be > 0")
        if self.max_payload_bytes <= 0:
            problems.append("max_payload_bytes must be > 0")
        if not 0 <= self.max_poll_seconds <= 3600:
            problems.append("max_poll_seconds must be between 0 and 3600")
        if problems:
            raise ValueError("invalid ServerConfig: " + "; ".join(problems))


class ServerRuntime:
    """A running server without a socket: ``api.dispatch`` is the whole protocol."""

    def __init__(
        self, config: ServerConfig, store: Store, engine: Engine, sweeper: Sweeper, api: Api
    ) -> None:
        self.config = config
        self.store = store
        self.engine = engine
        self.sweeper = sweeper
        self.api = api
        self._closed = False

    @classmethod
    async def open(cls, config: ServerConfig) -> ServerRuntime:
        """Open and migrate the store, create the ``default`` namespace, start the sweeper."""
        config.validate()
        store = await open_store(config.db_url)
        try:
            clock = config.clock or RealClock()
            engine = Engine(
                store,
                clock=clock,
                config=EngineConfig(
                    workflow_task_lease_seconds=config.workflow_task_lease_seconds,
                    activity_lease_seconds=config.activity_lease_seconds,
                    max_poll_seconds=config.max_poll_seconds,
                ),
                wakeups=Wakeups(recheck_seconds=store.poll_recheck_seconds),
            )
            await retry_conflicts(engine.start)  # servers starting together race for `default`
            attach_control_plane(engine)  # schedules fire from the sweeper
            await store.listen(engine.wakeups.notify_remote)
            sweeper = Sweeper(engine, clock, max_sleep=store.max_sweep_sleep)
            sweeper.start()
        except BaseException:
            await store.close()
            raise
        api = Api(
            engine,
            Authenticator(
                token=config.token,
                worker_token=config.worker_token,
                operator_token=config.operator_token,
                admin_token=config.admin_token,
            ),
            ApiSettings(
                max_payload_bytes=config.max_payload_bytes,
                max_poll_seconds=config.max_poll_seconds,
                server_id=config.server_id,
                server_version=SERVER_VERSION,
            ),
        )
        return cls(config, store, engine, sweeper, api)

    async def close(self) -> None:
        """Stop the sweeper, answer parked polls as empty, close the store. Idempotent."""
        if self._closed:
            return
        self._closed = True
        await self.sweeper.close()
        self.engine.wakeups.close()
        await self.store.close()
