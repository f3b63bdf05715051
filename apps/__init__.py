"""The reference services the platform runs; their env contract comes from `shared.catalogue`."""
