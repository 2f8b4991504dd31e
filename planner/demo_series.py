"""The demo's recurring series: a bilingual good-morning greeting every weekday at 08:00 in Shanghai."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from planner.models import User
from planner.services import series
from planner.services.checks import Checker
from planner.services.series import SeriesInput

GREETINGS = [
    "早上好！☀️ 新的一天，记得多喝水，久坐后起来走走。\n\n"
    "Good morning! Drink some water and take a break from the screen now and then.",
    "早安，{community}！今天学到的一点点，都是明天的底气。\n\n"
    "Good morning, {community}! Every small thing you learn today counts.",
    "早上好！🌤️ 出门前看看天气，通勤路上注意安全。\n\n"
    "Good morning! Check the weather before you leave and travel safely.",
    "早安！遇到问题随时在群里提问，大家互相帮助。\n\n"
    "Happy {weekday}! Ask in the group any time: we help each other here.",
    "早上好！☕ 给今天定一个小目标，晚上来群里分享进展吧。\n\n"
    "Good morning! Set one small goal for today and share how it went this evening.",
]


def create_greeting_series(session: Session, editor: User, operator: User, *, now: datetime,
                           config: dict[str, Any], checker: Checker, tag: str) -> None:
    """The greeting series, approved by the demo operator so its occurrences go out by themselves."""
    shanghai = ZoneInfo("Asia/Shanghai")
    first = datetime.combine(now.astimezone(shanghai).date() + timedelta(days=1), time(8), shanghai)
    greeting = series.create_series(session, editor, SeriesInput(
        kind="greeting", title="早安 Good morning · {date}",
        rrule="FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR", timezone="Asia/Shanghai", starts_at=first,
        template="{text}", pool=GREETINGS, tags=[tag], expires_after_minutes=120,
    ), now=now, config=config, checker=checker)
    series.approve_series(session, operator, greeting, now=now, allow_self_approval=False,
                          checker=checker, comment="Greetings look good.")
