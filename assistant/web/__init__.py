"""The HTTP layer around Gradio's app: the middleware and routes ``align serve`` adds, one per module."""
