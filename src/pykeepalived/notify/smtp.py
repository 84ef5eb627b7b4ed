"""SMTP alerts shaped like keepalived's, sent in the background with aiosmtplib.

Shape (keepalived's SMTP dialogue and headers): ``HELO <smtp_helo_name or localhost>``,
``MAIL FROM:<notification_email_from>``, one ``RCPT TO`` per address, then

    Date: <RFC 822 local time>
    From: <notification_email_from>
    Subject: [<router_id>] VRRP Instance VI_1 - Entering MASTER state
    X-Mailer: Keepalived
    To: a@x, b@y

    => VRRP Instance is now owning VRRP VIPs <=

Subjects: ``[router_id] VRRP Instance NAME - Entering MASTER state`` (BACKUP, FAULT likewise,
``Stopping`` on stop), ``[router_id] VRRP Group NAME - ...``, ``[router_id] Realserver
[ip]:proto:port of virtual server [ip]:proto:port - UP|DOWN``, ``[router_id] Virtualserver
[ip]:proto:port - <text>``. A mail is sent only when ``notification_email`` and
``smtp_server`` are set; an instance mails a state once (not again until it changes);
``no_email_faults`` suppresses FAULT mails.

Never blocking: ``send`` schedules a task and returns at once; a dead or slow server costs one
log line after ``smtp_connect_timeout``, and never delays the caller.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time

from pykeepalived.config.model import GlobalDefs

log = logging.getLogger("pykeepalived.notify")

VRRP_SUBJECT_BODY: dict[str, tuple[str, str]] = {
    "MASTER": ("Entering MASTER state", "=> VRRP Instance is now owning VRRP VIPs <="),
    "BACKUP": ("Entering BACKUP state", "=> VRRP Instance is no longer owning VRRP VIPs <="),
    "FAULT": ("Entering FAULT state", "=> VRRP Instance is no longer owning VRRP VIPs <="),
    "STOP": ("Stopping", "=> VRRP Instance stopping <="),
}
GROUP_SUBJECT_BODY: dict[str, tuple[str, str]] = {
    "MASTER": ("Entering MASTER state",
               "=> All VRRP group instances are now in MASTER state <="),
    "BACKUP": ("Entering BACKUP state",
               "=> All VRRP group instances are now in BACKUP state <="),
    "FAULT": ("Entering FAULT state", "=> All VRRP group instances are now in FAULT state <="),
    "STOP": ("Stopping", "=> All VRRP group instances are now stopping <="),
}


def router_id(gd: GlobalDefs) -> str:
    return gd.router_id or socket.gethostname()


def email_from(gd: GlobalDefs) -> str:
    return gd.notification_email_from or f"keepalived@{socket.gethostname()}"


def format_message(gd: GlobalDefs, subject: str, body: str, *, now: float | None = None) -> str:
    """The DATA part of an alert, CRLF line ends, without the terminating dot.

    keepalived sends the body line, then ``CRLF . CRLF``, so the message proper ends with an
    empty line; the same bytes reach the server here.
    """
    import email.utils  # here, not at the top: most daemons never send mail

    date = email.utils.formatdate(now if now is not None else time.time(), localtime=True)
    to = ", ".join(gd.notification_email)
    return (f"Date: {date}\r\nFrom: {email_from(gd)}\r\nSubject: {subject}\r\n"
            f"X-Mailer: Keepalived\r\nTo: {to}\r\n\r\n{body}\r\n\r\n")


def vrrp_subject(gd: GlobalDefs, name: str, text: str, *, group: bool = False) -> str:
    what = "VRRP Group" if group else "VRRP Instance"
    return f"[{router_id(gd)}] {what} {name} - {text}"


def rs_subject(gd: GlobalDefs, rs_key: str, vs_key: str, up: bool) -> str:
    return (f"[{router_id(gd)}] Realserver {rs_key} of virtual server {vs_key} - "
            f"{'UP' if up else 'DOWN'}")


def vs_subject(gd: GlobalDefs, vs_key: str, text: str) -> str:
    return f"[{router_id(gd)}] Virtualserver {vs_key} - {text}"


class SmtpAlerter:
    """Sends alerts in background tasks; ``close()`` waits a little for the ones in flight."""

    def __init__(self, gd: GlobalDefs) -> None:
        self.gd = gd
        self._tasks: set[asyncio.Task[bool]] = set()
        self._last_state: dict[tuple[bool, str], str] = {}
        self.sent = 0
        self.failed = 0

    @property
    def enabled(self) -> bool:
        return bool(self.gd.notification_email) and bool(self.gd.smtp_server)

    def send(self, subject: str, body: str) -> asyncio.Task[bool] | None:
        """Queue one alert; returns the task (tests await it), None when mail is not set up."""
        if not self.enabled:
            return None
        task = asyncio.get_running_loop().create_task(self._deliver(subject, body))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def vrrp_state(self, name: str, state: str, *,
                   group: bool = False) -> asyncio.Task[bool] | None:
        """keepalived's instance/group alert for ``state``, once per state change."""
        table = GROUP_SUBJECT_BODY if group else VRRP_SUBJECT_BODY
        if state not in table:
            return None
        if state == "FAULT" and self.gd.no_email_faults:
            return None
        key = (group, name)
        if self._last_state.get(key) == state:
            return None
        self._last_state[key] = state
        text, body = table[state]
        return self.send(vrrp_subject(self.gd, name, text, group=group), body)

    async def _deliver(self, subject: str, body: str) -> bool:
        gd = self.gd
        assert gd.smtp_server is not None
        server = f"[{gd.smtp_server}]:{gd.smtp_port}"
        import aiosmtplib  # here, not at the top: ~2 MiB with email, for configs that mail

        msg = format_message(gd, subject, body)
        client = aiosmtplib.SMTP(hostname=gd.smtp_server, port=gd.smtp_port,
                                 timeout=gd.smtp_connect_timeout, start_tls=False,
                                 local_hostname=gd.smtp_helo_name or "localhost")
        try:
            await client.connect()
            await client.helo(hostname=gd.smtp_helo_name or "localhost")
            await client.sendmail(email_from(gd), list(gd.notification_email), msg.encode())
            log.info("SMTP alert successfully sent.")
            self.sent += 1
            return True
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            self.failed += 1
            log.info("SMTP connection ERROR to %s: %s", server, exc)
            return False
        finally:
            if client.is_connected:
                try:
                    await client.quit()
                except (aiosmtplib.SMTPException, OSError, TimeoutError):
                    client.close()

    async def close(self, timeout: float = 1.0) -> None:
        if self._tasks:
            _done, pending = await asyncio.wait(set(self._tasks), timeout=timeout)
            for t in pending:
                t.cancel()
