"""Telling the operator: notify scripts, notify FIFOs and SMTP alerts. Fire-and-forget, reaped,
never blocking the caller's event loop.
"""
