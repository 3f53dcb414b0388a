"""Local emulators of the vendor APIs (one HTTP server, one path prefix per system), with faults.

See ``server.py`` for the process and control API, ``framework.py`` for what an emulator is,
``world.py`` for the seeded data every emulator draws from so that systems agree.
"""
