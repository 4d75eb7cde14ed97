"""Where a job's images are segmented: worker processes on this machine, or Ray actors."""
