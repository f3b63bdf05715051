"""api-gateway: the public entry point; validates payments and hands them to payment-processor."""
