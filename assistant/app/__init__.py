"""The app's facade (what the Gradio UI and its API call) and its request schemas."""

from assistant.app.service import AppService

__all__ = ["AppService"]
