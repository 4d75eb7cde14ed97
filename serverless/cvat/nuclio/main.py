"""Nuclio entry points of the focalxl CVAT interactor: ``init_context`` loads the model
once per worker, ``handler`` hands each request body to ``focalxl.cvat.Interactor``."""
import os

from focalxl.cvat import Interactor, Settings


def init_context(context):
    settings = Settings.from_environment(os.environ)
    context.logger.info_with("Loading focalxl", preset=settings.preset, checkpoint=settings.checkpoint,
                             device=settings.device or "auto", max_pixels=settings.max_pixels)
    context.user_data.interactor = Interactor.from_settings(settings)
    context.logger.info("focalxl interactor ready")


def handler(context, event):
    reply = context.user_data.interactor.respond(event.body)
    if reply.status != 200:
        context.logger.warn_with("Request not served", status=reply.status, reply=reply.body)
    return context.Response(body=reply.body, headers={}, content_type="application/json",
                            status_code=reply.status)
