import pytest

from tests.serve_process import kill_leftovers


@pytest.fixture(autouse=True)
def _no_serve_outlives_its_test():
    """An ``fpgax serve`` child a failed test left running would hold its ports and its store."""
    yield
    kill_leftovers()
