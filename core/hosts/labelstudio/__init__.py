"""Label Studio as the ML backend door and the batch job both meet it: result regions, the label
config's brush control, task media (under ``focalxl.fetch``) and the image as the labeling page shows it."""
