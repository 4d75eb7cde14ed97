"""Host mask formats, below every door and job: one codec per format."""
