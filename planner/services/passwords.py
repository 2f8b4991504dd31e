"""The password rules, after NIST SP 800-63B: long enough, not a common password, not the email.

No composition rules (a digit, a capital…) and no forced expiry: length and a blocklist do more good.
"""

from __future__ import annotations

from flask_babel import gettext as _

MIN_LENGTH = 10
MAX_LENGTH = 200

# Passwords of ten characters or more that lead breached-password lists; shorter ones fail on length.
COMMON = frozenset("""
1234567890 0123456789 12345678910 123456789a 1234567890a a123456789 qwertyuiop qwertyuiop123
1q2w3e4r5t 1qaz2wsx3edc qazwsxedcrfv zaq12wsxcde asdfghjkl; password12 password123 password1234
password01 password!! passw0rd12 p@ssw0rd12 p@ssword123 iloveyou12 iloveyou123 1111111111 0000000000
2222222222 5555555555 6666666666 7777777777 8888888888 9999999999 1212121212 1122334455 1234512345
9876543210 0987654321 abcdefghij abcdefghijk abcd123456 abc1234567 aaaaaaaaaa qwerty1234 qwerty12345
qwerty123456 qwertyuiop1 asdfghjkl1 zxcvbnm123 welcome123 welcome1234 letmein123 monkey1234
dragon1234 football12 baseball12 superman12 sunshine12 princess12 computer12 whatever12 trustno123
changeme123 administrator admin12345 admin123456 rootpassword secret1234 michael123 jennifer12
woaini1314 woaini520 5201314520 a1b2c3d4e5 1a2b3c4d5e qweasdzxc1 qweasdzxc123 zhang123456 wang123456
community1 community123 planner123 planner1234 correcthorsebatterystaple
""".split())


def problem(password: str, email: str = "") -> str | None:
    """Why this password may not be used, or None when it may."""
    if len(password) < MIN_LENGTH:
        return _("password must be at least %(count)s characters", count=MIN_LENGTH)
    if len(password) > MAX_LENGTH:
        return _("password must be at most %(count)s characters", count=MAX_LENGTH)
    folded = password.casefold()
    if folded in COMMON or len(set(folded)) == 1:
        return _("this password is too common: choose a longer phrase of your own")
    local_part = email.strip().casefold().partition("@")[0]
    if len(local_part) >= 3 and local_part in folded:
        return _("the password may not contain your email address")
    return None
