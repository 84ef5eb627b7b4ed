"""What installs pykeepalived on a server: the systemd unit, its hardening block, an example
``/etc/default/keepalived`` (package data) and the installer that renders them."""
