"""User-agent parsing for login events (browser, OS, device type) with ua-parser."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import ua_parser

_TABLET_HINTS = ("ipad", "tablet", "kindle", "playbook", "nexus 7", "nexus 9", "sm-t")
_MOBILE_OS = {"Android", "iOS", "Windows Phone", "BlackBerry OS", "KaiOS", "Firefox OS"}


@dataclass(frozen=True)
class ParsedUserAgent:
    browser: str
    os: str
    device_type: str  # desktop, mobile, tablet, bot, unknown


@lru_cache(maxsize=2048)
def parse_user_agent(ua: str) -> ParsedUserAgent:
    if not ua:
        return ParsedUserAgent("", "", "unknown")
    result = ua_parser.parse(ua)
    browser = ""
    if result.user_agent is not None:
        version = ".".join(p for p in (result.user_agent.major, result.user_agent.minor) if p)
        browser = f"{result.user_agent.family} {version}".strip()
    os_name = ""
    os_family = ""
    if result.os is not None:
        os_family = result.os.family
        version = ".".join(p for p in (result.os.major, result.os.minor) if p)
        os_name = f"{os_family} {version}".strip()
    device_family = (result.device.family if result.device is not None else "") or ""
    lowered = ua.lower()
    if device_family == "Spider" or "bot" in lowered or "spider" in lowered:
        device = "bot"
    elif any(hint in lowered for hint in _TABLET_HINTS) or (
        os_family == "Android" and "mobile" not in lowered
    ):
        device = "tablet"
    elif os_family in _MOBILE_OS or "mobile" in lowered:
        device = "mobile"
    elif os_family:
        device = "desktop"
    else:
        device = "unknown"
    return ParsedUserAgent(browser[:80], os_name[:80], device)
