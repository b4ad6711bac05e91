"""``python -m dronesense``."""

import sys

from dronesense.cli.main import main

sys.exit(main())
