"""Dashboard pages of the messaging app, one module per area."""
