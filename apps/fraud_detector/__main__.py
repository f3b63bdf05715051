from apps.common.runtime_config import RuntimeConfig
from apps.common.serve import serve
from apps.fraud_detector.app import build

config = RuntimeConfig.from_env("fraud-detector")
serve(build(config), config)
