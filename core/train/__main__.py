"""``python -m focalxl.train`` / ``torchrun --nproc_per_node=K -m focalxl.train``."""
import sys

from .command import main

sys.exit(main())
