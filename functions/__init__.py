"""Lambda functions the layers deploy: plain Python, tested against moto, packaged by `packaging`."""
