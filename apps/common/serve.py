"""Run one service with uvicorn: JSON logs, graceful shutdown on SIGTERM within ECS's stopTimeout."""

from __future__ import annotations

import uvicorn
from starlette.types import ASGIApp

from apps.common.logs import configure
from apps.common.settings import ServiceSettings

GRACEFUL_SHUTDOWN_SECONDS = 20  # below the task definition's default stopTimeout (30 s)


def serve(app: ASGIApp, settings: ServiceSettings, host: str = "0.0.0.0") -> None:
    configure(settings.spec.name)
    uvicorn.run(
        app,
        host=host,
        port=settings.port,
        log_config=None,  # keep our JSON handler
        access_log=False,
        server_header=False,
        proxy_headers=True,  # the ALB sets X-Forwarded-For/Proto
        forwarded_allow_ips="*",  # only the ALB reaches the task (security group chain)
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )
