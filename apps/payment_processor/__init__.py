"""payment-processor: asks fraud-detector for a score, decides, and remembers results per idempotency key."""
