"""Where a job's images and prompts come from: a COCO file, a Label Studio project, a CVAT task."""
