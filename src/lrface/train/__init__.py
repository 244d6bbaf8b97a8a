"""Training: recipes (``recipe``) over one DDP engine (``engine``), with heads, losses, the papers'
objectives and the distillation set. ``lrface train NAME`` is the entry point."""
