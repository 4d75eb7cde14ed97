"""``python -m focalxl.bench``."""
import sys

from . import main

sys.exit(main())
