"""``python -m focalxl.evaluation DATASET... [--protocol all] [--preset classical]``: same as ``focalxl eval``."""
import sys

from .run import main

if __name__ == "__main__":
    sys.exit(main())
