from apps.common.serve import serve
from apps.common.settings import ServiceSettings
from apps.payment_processor.app import DEFAULT_RETRIES, DEFAULT_TIMEOUT_SECONDS, build

settings = ServiceSettings.from_env(
    "payment-processor", default_timeout_seconds=DEFAULT_TIMEOUT_SECONDS, default_retries=DEFAULT_RETRIES
)
serve(build(settings), settings)
