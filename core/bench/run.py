"""``focalxl bench`` / ``python -m focalxl.bench``: run the benchmarks, print the table."""
from __future__ import annotations

import argparse
import sys
from typing import List, Optional, Sequence

from ..arguments import frame_size, positive_int
from .report import Figure, format_table, machine, write_json


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="focalxl bench", description="Print latency, memory and merge figures next to their requirements "
                                          "(figures are printed, not asserted).")
    parser.add_argument("which", nargs="?", choices=("all", "latency", "merge", "models"), default="all",
                        help="which benchmark (default: all = latency and merge; models runs on request only)")
    parser.add_argument("--repeats", type=positive_int, default=5, metavar="N",
                        help="latency: sessions played, each a click, a click, a box, a negative click, a click "
                             "(default: 5)")
    parser.add_argument("--size", type=frame_size, default=(1920, 1080), metavar="WxH",
                        help="latency and models: photo size (default: 1920x1080)")
    parser.add_argument("--preset", default="classical", help="latency: preset (default: classical)")
    parser.add_argument("--checkpoint", metavar="PATH", help="latency: weights for the preset")
    parser.add_argument("--merge-repeats", type=positive_int, default=15, metavar="N",
                        help="merge: repeats per case (default: 15)")
    parser.add_argument("--merge-size", type=frame_size, default=(4000, 3000), metavar="WxH",
                        help="merge: mask size (default: 4000x3000, 12 megapixels)")
    parser.add_argument("--model", dest="models", action="append", metavar="PRESET",
                        help="models: preset to measure, repeatable (default: every preset with weight files)")
    parser.add_argument("--model-repeats", type=positive_int, default=3, metavar="N",
                        help="models: sessions per preset, each a click, a click, a box, a negative click, a click "
                             "(default: 3)")
    parser.add_argument("--device", metavar="D", help="models: cuda, mps, cpu or auto (default: auto)")
    parser.add_argument("--threads", type=positive_int, metavar="T", help="models: CPU threads (default: torch's)")
    parser.add_argument("--json", metavar="PATH", help="also write the figures, samples and machine to PATH")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else 2
    info = machine()
    print(f"focalxl bench: {info['cpus']} CPUs ({info['machine']}), Python {info['python']}, "
          f"numpy {info['numpy']}, OpenCV {info['opencv']} ({info['opencv_threads']} threads)", flush=True)
    figures: List[Figure] = []
    if args.which in ("all", "latency"):
        from . import latency

        try:
            figures += latency.run(*args.size, repeats=args.repeats, preset=args.preset, checkpoint=args.checkpoint)
        except ValueError as error:          # unknown preset, bad checkpoint
            print(f"focalxl bench: error: {error}", file=sys.stderr)
            return 2
    if args.which in ("all", "merge"):
        from . import merge

        figures += merge.run(*args.merge_size, repeats=args.merge_repeats)
    if args.which == "models":
        from . import models

        figures += models.run(args.models, *args.size, repeats=args.model_repeats, device=args.device,
                              threads=args.threads)
    print(format_table(figures))
    over = [f for f in figures if f.status == "OVER"]
    print(f"{len(over)} of {sum(f.limit is not None for f in figures)} figures over their requirement")
    if args.json:
        settings = {k: v for k, v in vars(args).items() if k != "json"}
        write_json(args.json, figures, settings)
        print(f"figures written to {args.json}")
    return 0
