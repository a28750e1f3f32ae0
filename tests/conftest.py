import os

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: long-running experiments (run with -m slow)")
