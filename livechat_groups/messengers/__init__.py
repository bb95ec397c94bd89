"""The protocols of the messengers a live chat can receive customers from.

Plain Python, no ORM: parsing what the provider posts, checking that it comes from the provider,
building the requests we send and turning the provider's errors into plain words. The account
(``livechat.messenger``) chooses the module by its provider.
"""

from . import telegram, whatsapp
from .common import InboundMedia, InboundMessage, MessengerError, StatusUpdate

PROVIDERS = {"whatsapp": whatsapp, "telegram": telegram}
