"""Network parts of the learned presets, one module per part."""
