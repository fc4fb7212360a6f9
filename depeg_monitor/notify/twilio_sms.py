"""An SMS channel through Twilio: one message per number, each request bounded by the timeout.

The numbers are texted at once, so one send takes about one request's time however many there
are. A retry of the same alert texts only the numbers not reached yet. Errors name the number
masked (+1555****567), never the account SID or the auth token.

The Twilio SDK is imported only when an SMS channel is built.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from depeg_monitor.alerts.render import sms
from depeg_monitor.mask import mask_phone
from depeg_monitor.model import Message
from depeg_monitor.notify.channel import (
    DeliveryError,
    mask_library_logs,
    retryable_status,
    scrub,
)

if TYPE_CHECKING:
    from depeg_monitor.config import ChannelSettings

_MAX_KEYS = 1000  # alerts whose reached numbers are remembered; a retry storm this long is over


class TwilioChannel:
    """SMS to one or more numbers; a retry re-sends only to numbers not yet reached."""

    def __init__(self, name: str, cfg: ChannelSettings, sid: str, token: str) -> None:
        if not cfg.from_number:
            raise ValueError("a twilio channel needs from_number")
        mask_library_logs()
        self.name = name
        self.timeout = cfg.timeout  # one request to Twilio, start to end
        self._from = cfg.from_number
        self._to = list(cfg.to_numbers)
        self._secrets = [s for s in (sid, token) if s]
        # Numbers as configured (even if not in + form, which mask_personal would not spot),
        # longest first so one number inside another is replaced whole; a short code or a
        # typo of a few digits is left to mask_personal rather than replaced everywhere.
        self._numbers = sorted(
            (n for n in {*self._to, self._from} if sum(c.isdigit() for c in n) >= 7),
            key=len,
            reverse=True,
        )
        from twilio.rest import Client as TwilioClient

        from depeg_monitor.notify.twilio_http import SessionHttpClient

        self._http = SessionHttpClient(cfg.timeout, cfg.api_base)
        self._client = TwilioClient(sid, token, http_client=self._http)
        self._reached: dict[str, set[str]] = {}

    async def send(self, msg: Message, key: str) -> None:
        text = sms(msg)
        reached = self._reached.setdefault(key, set())
        pending = [n for n in self._to if n not in reached]
        outcomes = await asyncio.gather(*(self._text(n, text) for n in pending))
        failures = [f for f in outcomes if f is not None]
        reached.update(n for n, f in zip(pending, outcomes, strict=True) if f is None)
        if not failures:
            self._reached.pop(key, None)
            return
        if len(self._reached) > _MAX_KEYS:  # forget old keys
            self._reached = {key: reached}
        raise DeliveryError(
            "; ".join(f.reason for f in failures), any(f.retryable for f in failures)
        )

    async def _text(self, number: str, text: str) -> DeliveryError | None:
        """Text one number; the failure, if it was not delivered."""
        import aiohttp
        from twilio.base.exceptions import TwilioRestException

        try:
            await self._client.messages.create_async(to=number, from_=self._from, body=text)
        except TwilioRestException as e:
            status = int(e.status) if e.status else None
            reason = f"twilio {e.status} (code {e.code}) for {number}: {e.msg}"
            return DeliveryError(self._scrub(reason), retryable_status(status))
        except TimeoutError:  # aiohttp's total timeout, however it is spelled
            reason = f"twilio did not answer within {self.timeout:g} s for {number}"
            return DeliveryError(self._scrub(reason), True)
        except aiohttp.ClientConnectionError as e:
            reason = f"twilio unreachable for {number}: {type(e).__name__}: {e}"
            return DeliveryError(self._scrub(reason), True)
        except (aiohttp.ClientError, ValueError) as e:  # an answer the SDK cannot read
            reason = f"twilio answer unreadable for {number}: {type(e).__name__}: {e}"
            return DeliveryError(self._scrub(reason), True)
        return None

    def _scrub(self, text: str) -> str:
        text = scrub(text, self._secrets)  # first: Twilio's +1… spelling is masked whole
        for number in self._numbers:
            text = text.replace(number, mask_phone(number))
        return text

    async def close(self) -> None:
        await self._http.close()
