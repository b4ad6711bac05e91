"""``python -m firmware_sim`` runs the ``firmware-sim`` command."""

import sys

from .cli import main

sys.exit(main())
