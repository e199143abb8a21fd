"""A mail backend for tests whose server is down: every send raises, as smtplib does when
the connection is refused."""

import smtplib

from django.core.mail.backends.base import BaseEmailBackend


class RefusingBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        raise smtplib.SMTPConnectError(421, "mail.example.com: service not available")


class CountingBackend(BaseEmailBackend):
    """Records every subject it is asked to send (from any thread), a little slowly, so
    that racing senders overlap."""

    import threading as _threading

    sent: list[str] = []
    lock = _threading.Lock()

    def send_messages(self, email_messages):
        import time

        for message in email_messages:
            time.sleep(0.002)
            with self.lock:
                self.sent.append(message.subject)
        return len(email_messages)
