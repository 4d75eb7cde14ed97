"""``python -m focalxl.evaluation DATASET_DIR --preset classical --baseline grabcut``."""
import sys

from .run import main

if __name__ == "__main__":
    sys.exit(main())
