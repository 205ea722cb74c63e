"""A session while it runs: the channel protocol, participants, the lobby and room, controls,
signalling, rejoin and the live pages."""
