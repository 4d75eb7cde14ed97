"""CVAT door: CVAT interactor payloads to engine interactions and back (no Nuclio here).

    interactor = Interactor.from_settings(Settings.from_environment(os.environ))
    reply = interactor.respond(request_body)     # Reply(status, body=JSON str)

The Nuclio entry points (``nuclio/main.py``) are a thin shell over ``Interactor``.
"""
from .interactor import Interactor, Reply
from .payload import Limits, Request, RequestError
from .settings import Settings

__all__ = ["Interactor", "Limits", "Reply", "Request", "RequestError", "Settings"]
