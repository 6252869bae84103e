"""The local WhatsApp simulator: iSend's embedded default gateway and its test double.

Run it with ``python -m messaging.sandbox --port 9100`` or ``manage.py sandbox_gateway``.
"""
