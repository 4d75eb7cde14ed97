"""FocalClick-XL's three subnets: Context-Net, Object-Net and Detail-Net.

No official code or weights were released (see the README); this is our reading of the
paper. Checkpoints use our own format (:mod:`.checkpoint`), and an initial one is made
from an official SAM checkpoint with :func:`.checkpoint.init_from_sam`.
"""
