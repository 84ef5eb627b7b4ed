"""Operator scripts: vetting them and running them, for everything that runs one.

* ``security``: keepalived's script security (run-as user, unsafe paths, ``script_user``,
  ``enable_script_security``) checked before a script is armed.
* ``runner``: ``ProcessRunner`` / ``RunAs``: each script in its own session as its run-as user,
  a timeout kills the process group, exits and orphans reaped (child subreaper, zombie sweep)
  without blocking the event loop.

Imports ``config`` only. Used by ``track`` (vrrp_script), ``notify`` (notify scripts, FIFO
scripts, startup/shutdown scripts) and ``check`` (MISC_CHECK), which never import each other
for it.
"""
