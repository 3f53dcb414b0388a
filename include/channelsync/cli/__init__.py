"""The ``channelsync`` command."""
