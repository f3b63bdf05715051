from apps.api_gateway.app import build
from apps.common.serve import serve
from apps.common.settings import ServiceSettings

# Longer than payment-processor's own worst case (3 attempts of 1 s against fraud-detector).
settings = ServiceSettings.from_env("api-gateway", default_timeout_seconds=5.0, default_retries=1)
serve(build(settings), settings)
