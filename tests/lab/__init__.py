"""Test labs that need root: real daemons in network namespaces the tests create."""
