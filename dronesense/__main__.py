"""``python -m dronesense``."""

import sys

from dronesense.cli import main

sys.exit(main())
