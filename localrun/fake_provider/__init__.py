"""A stand-in for a third-party provider's key API, for the tests and the local run (loopback only)."""
