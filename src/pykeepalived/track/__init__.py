"""I/O shells for trackers: vrrp_script runners, track_file watchers, process monitoring.
They produce tracking events; the arithmetic on priorities lives in ``vrrp.tracking``.
"""
