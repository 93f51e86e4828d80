"""Bearer-token authentication and the role table of the protocol README.

``token`` grants every role; ``worker_token``, ``operator_token`` and ``admin_token``
grant one role each. With no token configured, authentication is off.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Final

from .errors import ApiError

WORKER: Final = "worker"
OPERATOR: Final = "operator"
ADMIN: Final = "admin"

ANY_ROLE: Final = frozenset({WORKER, OPERATOR, ADMIN})
WORKER_ONLY: Final = frozenset({WORKER})
OPERATORS: Final = frozenset({OPERATOR, ADMIN})
ADMINS: Final = frozenset({ADMIN})


class Authenticator:
    def __init__(
        self,
        *,
        token: str | None = None,
        worker_token: str | None = None,
        operator_token: str | None = None,
        admin_token: str | None = None,
    ) -> None:
        self._tokens: list[tuple[bytes, frozenset[str]]] = [
            (secret.encode(), roles)
            for secret, roles in (
                (token, ANY_ROLE),
                (worker_token, WORKER_ONLY),
                (operator_token, frozenset({OPERATOR})),
                (admin_token, ADMINS),
            )
            if secret
        ]

    @property
    def enabled(self) -> bool:
        return bool(self._tokens)

    def roles_for(self, presented: str) -> frozenset[str] | None:
        given = presented.encode()
        roles: frozenset[str] | None = None
        for (
            secret,
            granted,
        ) in self._tokens:  # compare with every secret: no timing hint of which matched
            if hmac.compare_digest(secret, given):
                roles = granted if roles is None else roles | granted
        return roles

    def check(self, allowed: frozenset[str] | None, headers: Mapping[str, str]) -> None:
        """Raise 401/403 unless the request's bearer token grants one of ``allowed``."""
        if allowed is None or not self._tokens:
            return
        header = headers.get("authorization", "")
        scheme, _, presented = header.partition(" ")
        if scheme.lower() != "bearer" or not presented.strip():
            raise ApiError(
                401, "unauthorized", "Missing bearer token: send 'Authorization: Bearer <token>'."
            )
        roles = self.roles_for(presented.strip())
        if roles is None:
            raise ApiError(401, "unauthorized", "Invalid bearer token.")
        if not roles & allowed:
            raise ApiError(
                403,
                "forbidden",
                f"This token's role ({', '.join(sorted(roles))}) may not call this route.",
                role=sorted(roles)[0],
                allowed_roles=sorted(allowed),
            )
