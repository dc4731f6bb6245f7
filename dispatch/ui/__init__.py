"""Web UI assets of dispatch (HTML, ES modules, CSS), served as they are: no build step."""
