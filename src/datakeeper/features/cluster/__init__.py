"""Several servers sharing one ``/data``: node state, node sync, node join, node list.

Each node converges to the shared registry by itself; nothing here talks to
another machine. The cross-machine part is ``/data`` itself (the registry and
its ``fcntl`` lock, which NFS carries) and, for fleets, ``contrib/ansible``.
"""
