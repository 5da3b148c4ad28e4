"""Loaded by every Python process the tests start (PYTHONPATH points here): installs the
network guard, so CLI subprocesses are held to the same no-network rule as the tests."""

import os

if os.environ.get("REMEMORA_NETGUARD_LOG"):
    from tests.netguard_hook import install

    install(os.environ["REMEMORA_NETGUARD_LOG"])
