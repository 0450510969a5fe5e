"""Seed packs: attribute definitions shipped as JSON data files."""
