"""Process model: the supervising parent, the VRRP child and the checker child, signals,
logging with keepalived's phrases, pid files and the data/stats/JSON dumps.
"""
