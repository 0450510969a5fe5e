"""What the tests share: a live ``align serve`` and its users (``serve``), logged-in HTTP clients and
Gradio calls (``gradio_queue``, ``web``), chromium for Playwright (``browser``), the app facade on a
scripted backbone (``app``), real servers to talk to (``llama_server``, ``examples``, ``counting_proxy``,
``fault_server``) and the checkout's paths (``paths``)."""
