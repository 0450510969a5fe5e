"""The Gradio app, a thin shell over the facade (``assistant.app.AppService``).

``ui.app.build_demo(app)`` builds the page: one module per tab (``tab_chat``, ``tab_compare``,
``tab_profiles``, ``tab_calibrate``, ``tab_examples``, ``tab_evaluate``), whose handlers call the
facade's parts and read the pydantic models they answer. ``ui.api`` holds the named API endpoints
and the edge they share: the caller's JSON measured and parsed as the request schema, the answer
serialised with ``model_dump(mode="json")``.
"""
