"""Batch pre-annotation: whole COCO files, Label Studio projects and CVAT tasks, resumable.

    from focalxl.batch import RunOptions, annotate_coco
    summary = annotate_coco("instances.json", "images/", "masks.json", prompt="box",
                            options=RunOptions(workers=2))
    print(summary.text())

``focalxl annotate coco|labelstudio|cvat ...`` wraps these functions.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

from .annotate import RunOptions, UploadError, run_job
from .model import ModelSpec
from .progress import Summary
from .work import Pictures

__all__ = ["ModelSpec", "Pictures", "RunOptions", "Summary", "UploadError", "annotate_coco",
           "annotate_labelstudio", "annotate_cvat", "default_journal"]


def default_journal(output: str) -> str:
    """The journal next to an output file: ``out.json`` -> ``out.journal.sqlite``."""
    path = Path(output)
    return str(path.with_name(f"{path.stem}.journal.sqlite"))


def annotate_coco(annotations: str, images: str, out: str, prompt: str = "auto", limit: Optional[int] = None,
                  options: Optional[RunOptions] = None) -> Summary:
    """Segment every annotation of a COCO file; write the file with RLE masks to ``out``."""
    from .sinks.coco import CocoSink
    from .sources.coco import CocoSource

    options = options or RunOptions(journal=default_journal(out))
    source = CocoSource(annotations, images, prompt, limit)
    data = source.read()
    return run_job(source.works(data), lambda journal: CocoSink(data, out), options)


def annotate_labelstudio(project: int, prompt: str = "auto", limit: Optional[int] = None,
                         options: Optional[RunOptions] = None, model_version: Optional[str] = None,
                         url: Optional[str] = None, api_key: Optional[str] = None) -> Summary:
    """Segment the regions of a Label Studio project's tasks; create one prediction per task.

    ``url``/``api_key`` default to ``LABEL_STUDIO_URL``/``LABEL_STUDIO_API_KEY``.
    """
    from .sinks.labelstudio import LabelStudioSink
    from .sources.labelstudio import LabelStudioSource, Server

    options = options or RunOptions(journal=f"labelstudio-project-{project}.journal.sqlite")
    server = Server(url.rstrip("/"), api_key or "") if url else Server.from_environment()
    version = model_version or f"focalxl-{options.model.preset}"
    source = LabelStudioSource(server, project, version, prompt, limit)
    control = source.control()
    return run_job(source.works(control), lambda journal: LabelStudioSink(server, project, control, version, journal),
                   options)


def annotate_cvat(task: int, export: Optional[str] = None, prompt: str = "auto", limit: Optional[int] = None,
                  options: Optional[RunOptions] = None, server=None) -> Summary:
    """Segment the shapes of a CVAT task; upload mask shapes, or with ``export`` write CVAT for images 1.1 XML.

    ``server`` (``focalxl.batch.sources.cvat.Server``) defaults to ``CVAT_HOST`` and
    ``CVAT_ACCESS_TOKEN`` or ``CVAT_USER``/``CVAT_PASSWORD``.
    """
    from .journal import Journal
    from .sinks.cvat import CvatUploadSink, CvatXmlSink
    from .sources.cvat import CvatSource, Server, auth_headers

    options = options or RunOptions(journal=default_journal(export) if export else f"cvat-task-{task}.journal.sqlite")
    server = server or Server.from_environment()
    client = server.client()
    with Journal(options.journal) as journal:
        ours = frozenset(s for remote in journal.remotes(f"cvat/task/{task}/") for s in json.loads(remote))
    source = CvatSource(server, task, prompt, limit, ours)
    data = source.read(client)
    works = source.works(data, auth_headers(client))
    if export:
        return run_job(works, lambda journal: CvatXmlSink(data, export), options)
    return run_job(works, lambda journal: CvatUploadSink(client, data, journal), options)
