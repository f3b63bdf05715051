from apps.common.serve import serve
from apps.common.settings import ServiceSettings
from apps.payment_processor.app import build

settings = ServiceSettings.from_env("payment-processor", default_timeout_seconds=1.0, default_retries=2)
serve(build(settings), settings)
