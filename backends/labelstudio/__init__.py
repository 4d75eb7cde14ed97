"""Label Studio door: the ML backend wire protocol over the engine."""
