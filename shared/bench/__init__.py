"""`reqrep bench`: presets, studies, the engine that runs them, their report and plots."""
