"""``focalxl annotate coco|labelstudio|cvat ...``: the command line over ``focalxl.batch``.

Exit status: 0 when every item was segmented and delivered, 1 when any failed (the
summary lists why), 2 for bad arguments, 130 when interrupted (rerun to resume).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Optional, Sequence

from ..arguments import positive_int
from . import default_journal
from .annotate import ENGINES, RunOptions
from .model import ModelSpec
from .prompts import MODES
from .work import Pictures

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="focalxl annotate",
        description="Pre-annotate a whole dataset: boxes, points and rough masks become masks. "
                    "Resumable: rerun the same command after an interruption.")
    sources = parser.add_subparsers(dest="source", metavar="SOURCE", required=True)

    coco = sources.add_parser("coco", help="a COCO annotation file and its image folder")
    coco.add_argument("annotations", metavar="ANNOTATIONS.json")
    coco.add_argument("--images", required=True, metavar="DIR", help="folder the file_name entries are relative to")
    coco.add_argument("--out", required=True, metavar="OUT.json", help="the COCO file written with RLE masks")
    _common(coco)

    studio = sources.add_parser("labelstudio", help="a Label Studio project (LABEL_STUDIO_URL, LABEL_STUDIO_API_KEY)")
    studio.add_argument("--project", required=True, type=int, metavar="ID")
    studio.add_argument("--model-version", metavar="NAME", help="model_version of the predictions "
                                                               "(default: focalxl-PRESET)")
    _common(studio)

    cvat = sources.add_parser("cvat", help="a CVAT task (CVAT_HOST, CVAT_USER/CVAT_PASSWORD or CVAT_ACCESS_TOKEN)")
    cvat.add_argument("--task", required=True, type=int, metavar="ID")
    cvat.add_argument("--export", metavar="annotations.xml",
                      help="write CVAT for images 1.1 XML (the task's shapes plus the masks) instead of uploading")
    _common(cvat)
    return parser


def _common(parser: argparse.ArgumentParser) -> None:
    model = parser.add_argument_group("model")
    model.add_argument("--preset", default="classical", help="predictor preset (default: classical)")
    model.add_argument("--checkpoint", metavar="PATH", help="weights for the preset")
    model.add_argument("--device", metavar="D", help="cuda, cpu, mps or auto (default)")
    model.add_argument("--precision", metavar="P", help="fp32, bf16, fp16 or auto (learned presets)")
    job = parser.add_argument_group("job")
    job.add_argument("--prompt", choices=MODES, default="auto",
                     help="what to prompt with: the box, the points, the mask, or auto (mask > box > points)")
    job.add_argument("--workers", type=positive_int, default=1, metavar="N", help="worker processes / Ray actors")
    job.add_argument("--engine", choices=ENGINES, default="local", help="local processes or a Ray cluster")
    job.add_argument("--ray-address", metavar="ADDR", help="Ray cluster to join (default: RAY_ADDRESS or a local one)")
    job.add_argument("--journal", metavar="PATH", help="SQLite journal (default: next to the output)")
    job.add_argument("--limit", type=positive_int, metavar="N", help="only the first N annotations")
    job.add_argument("--alpha-dir", metavar="DIR", help="write each object's alpha matte as a PNG here")
    job.add_argument("--overlays", metavar="DIR", help="write an overlay picture per object here")
    job.add_argument("--quiet", action="store_true", help="no progress bar")




def options_from(args: argparse.Namespace, journal: str) -> RunOptions:
    import focalxl

    if args.preset not in focalxl.presets():
        raise ValueError(f"--preset: unknown preset {args.preset!r}; choose one of {', '.join(focalxl.presets())}")
    if args.checkpoint is not None and not Path(args.checkpoint).is_file():
        raise ValueError(f"--checkpoint: no such file {args.checkpoint!r}")
    if args.precision is not None and args.preset == "classical":
        raise ValueError("--precision: the classical preset has no precision to choose")
    return RunOptions(model=ModelSpec(args.preset, args.checkpoint, args.device, args.precision),
                      journal=args.journal or journal, workers=args.workers, engine=args.engine,
                      ray_address=args.ray_address, pictures=Pictures(args.alpha_dir, args.overlays),
                      progress=not args.quiet and sys.stderr.isatty())


def run(args: argparse.Namespace):
    if args.source == "coco":
        from . import annotate_coco

        return annotate_coco(args.annotations, args.images, args.out, args.prompt, args.limit,
                             options_from(args, default_journal(args.out)))
    if args.source == "labelstudio":
        from . import annotate_labelstudio

        options = options_from(args, f"labelstudio-project-{args.project}.journal.sqlite")
        return annotate_labelstudio(args.project, prompt=args.prompt, limit=args.limit, options=options,
                                    model_version=args.model_version)
    from . import annotate_cvat

    journal = default_journal(args.export) if args.export else f"cvat-task-{args.task}.journal.sqlite"
    return annotate_cvat(args.task, export=args.export, prompt=args.prompt, limit=args.limit,
                         options=options_from(args, journal))


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else EXIT_USAGE
    try:
        summary = run(args)
    except ValueError as error:
        print(f"focalxl annotate {args.source}: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"\nfocalxl annotate {args.source}: interrupted; what is done is in the journal, "
              "run the same command again to resume", file=sys.stderr)
        return EXIT_INTERRUPTED
    print(summary.text())
    return EXIT_OK if summary.ok else EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
