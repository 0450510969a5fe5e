"""Composition root of ALIGN assistant: settings, service, backbones, CLI."""
