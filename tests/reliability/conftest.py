"""Every reliability test leaves no child process, no library thread and no descriptor."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from waiting import wait_until

from reliability.support import child_processes, open_fds, rxclaude_threads


@pytest.fixture(autouse=True)
def nothing_left_behind() -> Iterator[None]:
    descriptors = open_fds()
    yield
    # Consumer and reader threads end just after they deliver the end of a stream.
    wait_until(lambda: not rxclaude_threads())
    assert child_processes() == []
    leaked = {fd: target for fd, target in open_fds().items() if descriptors.get(fd) != target}
    assert not leaked, f"descriptors left open: {leaked}"
