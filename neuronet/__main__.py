"""``python -m neuronet train ...``: the same as the ``neuronet`` command."""
import sys

from neuronet.cli import main

sys.exit(main())
