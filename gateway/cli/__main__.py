"""``python -m gateway.cli`` runs the ``signoff`` command line."""

import sys

from gateway.cli import main

sys.exit(main())
