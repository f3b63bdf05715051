from apps.api_gateway.app import DEFAULT_RETRIES, DEFAULT_TIMEOUT_SECONDS, build
from apps.common.runtime_config import RuntimeConfig
from apps.common.serve import serve

config = RuntimeConfig.from_env(
    "api-gateway", default_timeout_seconds=DEFAULT_TIMEOUT_SECONDS, default_retries=DEFAULT_RETRIES
)
serve(build(config), config)
