"""The forwarding core on aiortc: forwards encoded media between peers; no HTTP in it."""
