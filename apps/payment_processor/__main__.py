from apps.common.runtime_config import RuntimeConfig
from apps.common.serve import serve
from apps.payment_processor.app import DEFAULT_RETRIES, DEFAULT_TIMEOUT_SECONDS, build

config = RuntimeConfig.from_env(
    "payment-processor", default_timeout_seconds=DEFAULT_TIMEOUT_SECONDS, default_retries=DEFAULT_RETRIES
)
serve(build(config), config)
