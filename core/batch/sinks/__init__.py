"""Where a job's masks go: a COCO file, Label Studio predictions, CVAT shapes or XML."""
