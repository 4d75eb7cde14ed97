"""Host tools' protocols that a door and the batch job both speak (one reader each, no copies)."""
