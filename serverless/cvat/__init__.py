"""CVAT door: translates CVAT interactor payloads to engine interactions and back."""
