from apps.api_gateway.app import DEFAULT_RETRIES, DEFAULT_TIMEOUT_SECONDS, build
from apps.common.serve import serve
from apps.common.settings import ServiceSettings

settings = ServiceSettings.from_env(
    "api-gateway", default_timeout_seconds=DEFAULT_TIMEOUT_SECONDS, default_retries=DEFAULT_RETRIES
)
serve(build(settings), settings)
