from apps.common.serve import serve
from apps.common.settings import ServiceSettings
from apps.fraud_detector.app import build

settings = ServiceSettings.from_env("fraud-detector")
serve(build(settings), settings)
