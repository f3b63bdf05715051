"""`payments-release`: release a new image of one service through its CodeDeploy blue/green group."""
