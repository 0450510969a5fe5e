"""The Gradio app (not built yet: see the open issue "The Gradio app")."""
