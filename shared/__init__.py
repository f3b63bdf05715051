"""What every layer of the payment platform reuses: names, tags, typed config, layer contracts."""
