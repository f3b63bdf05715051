"""What the three services share: env settings, JSON logs with request ids, downstream calls, serving."""
