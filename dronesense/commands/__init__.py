"""One module per ``dronesense`` sub-command; each provides ``register(subparsers)``."""
