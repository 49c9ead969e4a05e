"""Sending a notification with apprise, for the live world.

apprise knows webhooks, Slack, email and a hundred other services by URL
(`json://`, `slack://`, `mailto://`...). It is heavy (about 70 ms to import)
and synchronous, so it is imported here, on first use, and called in a
thread. It reports why a delivery failed only in its log, which is captured.
"""

from __future__ import annotations

import logging
import warnings

from rb.world.base import Notification, WorldError

_LOG_FORMAT = "%(message)s"


def send(notification: Notification) -> None:
    """Deliver `notification` to its one target; WorldError when it could not be.

    The error's text may hold the URL's secrets: the caller masks it.
    """
    with warnings.catch_warnings():
        # apprise's plugins import the deprecated imghdr (Python 3.11, 3.12) as
        # they load: not the user's concern, and an error under -W error.
        warnings.simplefilter("ignore", DeprecationWarning)
        _send(notification)


def _send(notification: Notification) -> None:
    import apprise

    sender = apprise.Apprise()
    capture = apprise.LogCapture(level=logging.WARNING, fmt=_LOG_FORMAT)  # type: ignore[no-untyped-call]
    with capture as log:
        if not sender.add(notification.url):
            raise WorldError(
                "not a notification URL apprise knows (see the apprise URL list: "
                "json://, slack://, mailto://...)",
                kind="error",
                retryable=False,
            )
        ok = sender.notify(title=notification.title, body=notification.body)
        said = [line for line in log.getvalue().splitlines() if line.strip()]
    if not ok:
        why = said[-1] if said else "the service did not accept it"
        raise WorldError(f"delivery failed: {why}", kind="connection")
