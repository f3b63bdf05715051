"""Compliance rules for the payment platform: plain functions the Pulumi policy pack and the tests share."""
