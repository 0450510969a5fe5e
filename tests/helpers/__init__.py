"""What the tests share: a live ``align serve`` and its users (``serve``), its store read back
(``store``), logged-in HTTP clients and Gradio calls (``gradio_queue``, ``web``), waiting on it
(``waiting``), chromium for Playwright (``browser``), the app facade on a scripted backbone (``app``),
real servers to talk to (``llama_server``, ``examples``, ``counting_proxy``, ``fault_server``) and
small stand-ins run in the test (``local_http``), the ``align`` command (``cli``), chat apps' task
prompts (``chat_apps``), a hand-moved clock (``clock``), settings from a clean environment
(``settings_env``), decoding schemas (``schemas``) and the checkout's paths (``paths``)."""
