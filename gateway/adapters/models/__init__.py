"""Model backends and bindings: the gateway calls the model itself, and fails closed when it cannot."""
