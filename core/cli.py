"""The ``focalxl`` command line: the engine's operations on image files.

    focalxl segment IMAGE [--preset NAME] [--checkpoint PATH] [--mask EXISTING.png]
                    (--click X,Y[,neg] | --box X0,Y0,X1,Y1 | --scribble "X,Y;X,Y;...[;neg][;width=W]"
                     | --coarse-mask ROUGH.png) ...
                    [--out mask.png] [--alpha alpha.png] [--overlay overlay.png]
    focalxl demo [--out DIR]
    focalxl presets
    focalxl weights list | download NAME [--dir D] [--url URL] | verify PATH [--name NAME]
                    | init-xl PRESET SAM_CHECKPOINT --out PATH
    focalxl eval ...      (focalxl.evaluation.run)
    focalxl bench ...     (focalxl.bench)
    focalxl annotate coco|labelstudio|cvat ...   (focalxl.batch)
    focalxl train PRESET --data DATASET ... --out RUN_DIR ...   (focalxl.train)

Prompt syntax (coordinates are image pixels, ``x`` right and ``y`` down from the
top-left corner, floats allowed):

* ``--click X,Y`` a positive click, ``--click X,Y,neg`` a negative one (``pos`` is accepted too);
* ``--box X0,Y0,X1,Y1`` two opposite corners;
* ``--scribble "X,Y;X,Y;..."`` a stroke through the points, ``;``-separated; add ``;neg``
  for a background stroke and ``;width=W`` for the brush width in pixels (default 5);
* ``--coarse-mask ROUGH.png`` a rough mask of the object to refine (a prompt);
* ``--mask EXISTING.png`` an existing annotation the session starts from (mask correction).

Prompts are applied in the order they appear on the command line. Masks are read as
grey levels, ``> 127`` is foreground; written masks are 0/255 and alpha mattes 0..255.
Bad input ends with a message naming the argument and exit status 2.
"""
from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

from .command_io import UsageError, check_writable, describe, load_segmenter, read_image, read_mask, write_image
from .overlays import alpha_png, mask_png, overlay

EXIT_OK = 0
EXIT_USAGE = 2


# --------------------------------------------------------------------------- prompt syntax

def _numbers(text: str, count: int, what: str) -> List[float]:
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != count:
        raise ValueError(f"expected {what}, got {text!r}")
    values = []
    for part in parts:
        try:
            value = float(part)
        except ValueError:
            raise ValueError(f"expected {what}, got {text!r} ({part!r} is not a number)") from None
        if not math.isfinite(value):
            raise ValueError(f"expected {what}, got {text!r} ({part!r} is not finite)")
        values.append(value)
    return values


def _polarity(word: str, text: str) -> bool:
    word = word.strip().lower()
    if word == "pos":
        return True
    if word == "neg":
        return False
    raise ValueError(f"expected 'neg' or 'pos' after the coordinates, got {word!r} in {text!r}")


def parse_click(text: str):
    """``X,Y`` (positive) or ``X,Y,neg`` / ``X,Y,pos``."""
    from .interactions import Click

    parts = text.split(",")
    if len(parts) == 3:
        positive = _polarity(parts[2], text)
        text_xy = ",".join(parts[:2])
    elif len(parts) == 2:
        positive, text_xy = True, text
    else:
        raise ValueError(f"expected X,Y or X,Y,neg, got {text!r}")
    x, y = _numbers(text_xy, 2, "X,Y or X,Y,neg")
    return Click(x, y, positive)


def parse_box(text: str):
    """``X0,Y0,X1,Y1``."""
    from .interactions import Box

    return Box(*_numbers(text, 4, "X0,Y0,X1,Y1"))


def parse_scribble(text: str):
    """``X,Y;X,Y;...`` with optional ``neg``/``pos`` and ``width=W`` items."""
    from .interactions import Scribble

    points: List[Tuple[float, float]] = []
    positive, width = True, 5.0
    for item in (i.strip() for i in text.split(";")):
        if not item:
            continue
        if item.lower() in ("neg", "pos"):
            positive = _polarity(item, text)
        elif item.lower().startswith("width="):
            try:
                width = float(item.split("=", 1)[1])
            except ValueError:
                raise ValueError(f"width must be a number, got {item!r}") from None
        else:
            x, y = _numbers(item, 2, "X,Y;X,Y;...[;neg][;width=W]")
            points.append((x, y))
    if not points:
        raise ValueError(f"expected at least one X,Y point, got {text!r}")
    return Scribble(points, positive=positive, width=width)


@dataclass
class Prompt:
    """One prompt from the command line, kept with the text it came from."""

    option: str
    text: str
    value: object          # an Interaction, or a path for --coarse-mask (read once the image is known)


class _AppendPrompt(argparse.Action):
    """Append a parsed prompt to the one ordered ``prompts`` list shared by all prompt options."""

    def __init__(self, option_strings, dest, parse=None, **kwargs):
        self.parse = parse
        super().__init__(option_strings, dest, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        try:
            value = self.parse(values) if self.parse else values
        except ValueError as error:
            raise argparse.ArgumentError(self, str(error)) from None
        prompts = list(getattr(namespace, self.dest, None) or [])
        prompts.append(Prompt(option_string, values, value))
        setattr(namespace, self.dest, prompts)


# --------------------------------------------------------------------------- subcommands

def _cmd_segment(args: argparse.Namespace) -> int:
    prompts: List[Prompt] = args.prompts or []
    if not prompts:
        raise UsageError("--click/--box/--scribble/--coarse-mask", "give at least one prompt")
    for argument, path in (("--out", args.out), ("--alpha", args.alpha), ("--overlay", args.overlay)):
        if path is not None:
            check_writable(path, argument)
    image = read_image(args.image)
    shape = image.shape[:2]
    existing = read_mask(args.mask, "--mask", shape) if args.mask is not None else None
    interactions = []
    for prompt in prompts:
        if prompt.option == "--coarse-mask":
            from .interactions import CoarseMask

            prompt.value = CoarseMask(read_mask(prompt.value, "--coarse-mask", shape))
        interactions.append(prompt.value)

    segmenter = load_segmenter(args.preset, args.checkpoint)
    try:
        session = segmenter.new_session(image, existing)
    except ValueError as error:
        raise UsageError("IMAGE", str(error)) from None
    start = time.perf_counter()
    for prompt in prompts:
        try:
            result = session.add(prompt.value)
        except ValueError as error:
            raise UsageError(prompt.option, f"{prompt.text!r}: {error}") from None
    elapsed = (time.perf_counter() - start) * 1000.0

    if args.out is not None:
        write_image(args.out, mask_png(result.mask), "--out")
    if args.alpha is not None:
        write_image(args.alpha, alpha_png(result.alpha), "--alpha")
    if args.overlay is not None:
        write_image(args.overlay, overlay(image, result.mask, interactions), "--overlay")
    count = len(prompts)
    print(f"{describe(result, shape)}, {count} interaction{'s' if count != 1 else ''} in {elapsed:.0f} ms")
    if args.out is None and args.alpha is None and args.overlay is None:
        print("nothing written: add --out MASK.png, --alpha ALPHA.png or --overlay OVERLAY.png to save the result",
              file=sys.stderr)
    return EXIT_OK


def _cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    run_demo(args.out, preset=args.preset, checkpoint=args.checkpoint)
    return EXIT_OK


def _cmd_presets(args: argparse.Namespace) -> int:
    import focalxl

    for name in focalxl.presets():
        print(name)
    return EXIT_OK


def _cmd_weights_list(args: argparse.Namespace) -> int:
    from . import weights

    print(f"weights folder (--dir default, ${weights.DEFAULT_DIR_VARIABLE}): {weights.default_dir()}")
    for entry in weights.TABLE.values():
        size = "size not published" if entry.size is None else f"{entry.size} bytes"
        print(f"{entry.preset}\n  file    {entry.file_name} ({size})\n  sha256  {entry.sha256 or 'not published'}"
              f"\n  url     {entry.url or '-'}\n  source  {entry.source}")
    return EXIT_OK


def _cmd_weights_download(args: argparse.Namespace) -> int:
    from . import weights

    def progress(received: int, total: Optional[int]) -> None:
        share = f" ({100 * received / total:.0f}%)" if total else ""
        print(f"\r{received / 2 ** 20:.1f} MiB{share}", end="", file=sys.stderr, flush=True)

    try:
        path = weights.download(args.name, args.dir, url=args.url, progress=progress if sys.stderr.isatty() else None)
    except weights.WeightsError as error:
        raise UsageError("--url" if args.url else "NAME", str(error)) from None
    print(path)
    return EXIT_OK


def _cmd_weights_verify(args: argparse.Namespace) -> int:
    from . import weights

    try:
        verdict = weights.verify(args.path, args.name)
    except weights.WeightsError as error:
        raise UsageError("--name" if args.name else "PATH", str(error)) from None
    status = {True: "OK", False: "MISMATCH", None: "UNCHECKED"}[verdict.ok]
    print(f"{status}  {verdict.path}  {verdict.size} bytes  sha256 {verdict.sha256}\n  {verdict.reason}")
    return EXIT_OK if verdict.ok is not False else 1


def _cmd_weights_init_xl(args: argparse.Namespace) -> int:
    from .models.xl.checkpoint import init_from_sam

    try:
        digest = init_from_sam(args.sam, args.preset, args.out)
    except ValueError as error:
        raise UsageError("SAM_CHECKPOINT", str(error)) from None
    print(f"{args.out}  sha256 {digest}")
    return EXIT_OK


def _run_eval(argv: List[str]) -> int:
    try:
        from .evaluation.run import main as eval_main
    except ImportError as error:
        print(f"focalxl eval: the evaluation module is not available ({error})", file=sys.stderr)
        return 1
    return int(eval_main(argv) or 0)


def _run_bench(argv: List[str]) -> int:
    from .bench import main as bench_main

    return int(bench_main(argv) or 0)


def _run_annotate(argv: List[str]) -> int:
    from .batch.cli import main as annotate_main

    return annotate_main(argv)


def _run_train(argv: List[str]) -> int:
    from .train.command import main as train_main

    return train_main(argv)


# Subcommands that parse their own arguments: everything after the name is theirs.
DELEGATED = {"eval": _run_eval, "bench": _run_bench, "annotate": _run_annotate, "train": _run_train}


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("focalxl")
    except PackageNotFoundError:
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="focalxl", description="FocalClick-XL interactive segmentation: prompts in, masks and alpha out.")
    parser.add_argument("--version", action="version", version=f"focalxl {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    seg = commands.add_parser(
        "segment", help="segment one object in an image from clicks, boxes, scribbles and masks",
        description="Segment one object. Prompts are applied in the order given; coordinates are image "
                    "pixels, x right and y down from the top-left corner.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n"
               "  focalxl segment cat.png --click 240,60 --click 425,180,neg --out mask.png\n"
               "  focalxl segment cat.png --box 15,0,380,300 --scribble '100,200;140,210;neg;width=8' "
               "--overlay overlay.png\n"
               "  focalxl segment cat.png --mask old.png --click 300,250 --out fixed.png")
    seg.add_argument("image", metavar="IMAGE", help="image file (PNG, JPEG, ...; grey, RGB or RGBA)")
    seg.add_argument("--preset", default="classical", help="predictor preset (default: classical; see `focalxl presets`)")
    seg.add_argument("--checkpoint", metavar="PATH", help="weights for the preset")
    seg.add_argument("--mask", metavar="EXISTING.png", help="existing annotation to correct (>127 is foreground)")
    prompts = seg.add_argument_group("prompts (repeatable, applied in command-line order)")
    prompts.add_argument("--click", dest="prompts", action=_AppendPrompt, parse=parse_click, metavar="X,Y[,neg]",
                         help="a click; append ',neg' for background")
    prompts.add_argument("--box", dest="prompts", action=_AppendPrompt, parse=parse_box, metavar="X0,Y0,X1,Y1",
                         help="a box around the object")
    prompts.add_argument("--scribble", dest="prompts", action=_AppendPrompt, parse=parse_scribble,
                         metavar="'X,Y;X,Y;...[;neg][;width=W]'",
                         help="a stroke through ';'-separated points; ';neg' for background, ';width=W' brush "
                              "width in pixels (default 5)")
    prompts.add_argument("--coarse-mask", dest="prompts", action=_AppendPrompt, metavar="ROUGH.png",
                         help="a rough mask of the object, as a prompt (>127 is foreground)")
    outputs = seg.add_argument_group("outputs")
    outputs.add_argument("--out", metavar="MASK.png", help="write the mask (0/255)")
    outputs.add_argument("--alpha", metavar="ALPHA.png", help="write the alpha matte (0..255)")
    outputs.add_argument("--overlay", metavar="OVERLAY.png", help="write the image with the mask and prompts drawn")
    seg.set_defaults(run=_cmd_segment, prompts=[])

    demo = commands.add_parser("demo", help="run the whole loop on the bundled cat picture (no weights, no network)")
    demo.add_argument("--out", metavar="DIR", default="focalxl-demo", help="output folder (default: ./focalxl-demo)")
    demo.add_argument("--preset", default="classical", help=argparse.SUPPRESS)
    demo.add_argument("--checkpoint", metavar="PATH", help=argparse.SUPPRESS)
    demo.set_defaults(run=_cmd_demo)

    listing = commands.add_parser("presets", help="list the predictor presets")
    listing.set_defaults(run=_cmd_presets)

    weights = commands.add_parser("weights", help="official weight files: list, download, verify")
    actions = weights.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser("list", help="presets, file names, sizes, sha256 and where to get them"
                       ).set_defaults(run=_cmd_weights_list)
    fetch = actions.add_parser("download", help="download (or resume) a preset's file, then check its sha256")
    fetch.add_argument("name", metavar="NAME", help="preset, e.g. sam-vit-b (see `focalxl weights list`)")
    fetch.add_argument("--dir", metavar="D", help="folder to put it in (default: $FOCALXL_WEIGHTS or "
                                                 "~/.cache/focalxl/weights)")
    fetch.add_argument("--url", metavar="URL", help="download from this mirror instead (still checked)")
    fetch.set_defaults(run=_cmd_weights_download)
    check = actions.add_parser("verify", help="check a file's size and sha256 against the official ones")
    check.add_argument("path", metavar="PATH", help="the weight file")
    check.add_argument("--name", metavar="NAME", help="preset to check against (default: found by file name)")
    check.set_defaults(run=_cmd_weights_verify)
    init = actions.add_parser("init-xl", help="an initial FocalClick-XL checkpoint whose Context-Net is SAM's encoder")
    init.add_argument("preset", choices=["focalclick-xl-b", "focalclick-xl-h"], metavar="PRESET",
                      help="focalclick-xl-b (from sam_vit_b_01ec64.pth) or focalclick-xl-h (from sam_vit_h_4b8939.pth)")
    init.add_argument("sam", metavar="SAM_CHECKPOINT", help="the official SAM checkpoint file")
    init.add_argument("--out", required=True, metavar="PATH", help="where to write the XL checkpoint")
    init.set_defaults(run=_cmd_weights_init_xl)

    commands.add_parser("eval", help="benchmark presets on datasets with the paper's protocols (focalxl eval --help)",
                        add_help=False)
    commands.add_parser("bench", help="latency and merge benchmarks (focalxl bench --help)", add_help=False)
    commands.add_parser("annotate", help="pre-annotate a COCO file, Label Studio project or CVAT task "
                        "(focalxl annotate --help)", add_help=False)
    commands.add_parser("train", help="train a FocalClick or FocalClick-XL preset (focalxl train --help)",
                        add_help=False)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the command line; returns the exit status (2 for bad input)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in DELEGATED:
        return DELEGATED[argv[0]](argv[1:])
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:      # argparse: --help (0) or a usage error (2), message already printed
        return exit_.code if isinstance(exit_.code, int) else EXIT_USAGE
    try:
        return args.run(args)
    except UsageError as error:
        prog = f"focalxl {args.command}"
        print(f"{prog}: error: {error}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
