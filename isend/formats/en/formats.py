"""English as it is written in Azerbaijan: the day before the month ("05.12.2026", "5 Dec
2026"), the 24-hour clock, as in Azerbaijani and Russian. Numbers stay English ("1,234.56").

The syntax of the *_FORMAT strings is Django's `date` filter's; the *_INPUT_FORMATS are
strftime's. What is typed is read day first as well; ISO (2026-12-05) is always accepted (links
and saved filters). American month-first input ("12/05/2026") is not: read day first it would
be another date without a word, so it is refused as an invalid date instead."""

DATE_FORMAT = "j M Y"  # 5 Dec 2026
DATETIME_FORMAT = "j M Y, H:i"  # 5 Dec 2026, 14:30
TIME_FORMAT = "H:i"  # 14:30
SHORT_DATE_FORMAT = "d.m.Y"  # 05.12.2026
SHORT_DATETIME_FORMAT = "d.m.Y H:i"  # 05.12.2026 14:30

# The first is the one date fields show and hint ("dd.mm.yyyy", see core.forms).
DATE_INPUT_FORMATS = [
    "%d.%m.%Y",  # '05.12.2026'
    "%Y-%m-%d",  # '2026-12-05'
    "%d.%m.%y",  # '05.12.26'
    "%d %b %Y",  # '5 Dec 2026'
    "%d %B %Y",  # '5 December 2026'
    "%b %d %Y",  # 'Dec 5 2026'
    "%b %d, %Y",  # 'Dec 5, 2026'
    "%B %d %Y",  # 'December 5 2026'
    "%B %d, %Y",  # 'December 5, 2026'
]
# The first without seconds is the one date-and-time fields show ("dd.mm.yyyy HH:MM").
DATETIME_INPUT_FORMATS = [
    "%d.%m.%Y %H:%M:%S",  # '05.12.2026 14:30:59'
    "%d.%m.%Y %H:%M:%S.%f",  # '05.12.2026 14:30:59.000200'
    "%d.%m.%Y %H:%M",  # '05.12.2026 14:30'
    "%Y-%m-%d %H:%M:%S",  # '2026-12-05 14:30:59'
    "%Y-%m-%d %H:%M:%S.%f",  # '2026-12-05 14:30:59.000200'
    "%Y-%m-%d %H:%M",  # '2026-12-05 14:30'
    "%d.%m.%y %H:%M:%S",  # '05.12.26 14:30:59'
    "%d.%m.%y %H:%M",  # '05.12.26 14:30'
]
