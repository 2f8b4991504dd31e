"""The demo workspace: three people, a few outbox channels and a week of typical community posts."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from planner.demo_series import create_greeting_series
from planner.feeds.demo import create_demo_feeds
from planner.models import User
from planner.services import channels as channel_service
from planner.services import posts, slots, users, workspace
from planner.services.checks import checker_for
from planner.services.posts import PostInput
from planner.state import PlannerState

PEOPLE = [
    ("admin@example.com", "admin", "Ada Admin"),
    ("operator@example.com", "operator", "Owen Operator"),
    ("editor@example.com", "editor", "Eva Editor"),
]
CHANNELS = [
    ("Python learners group 1", ["python-groups"]),
    ("Python learners group 2", ["python-groups"]),
    ("Community forum", ["forum"]),
]
WEEK = [
    # (day offset, hour, kind, title, body, tags or channel names)
    (1, 8, "greeting", "Good morning", "Good morning everyone! ☀️ Remember to drink water and "
     "take a break from the screen today.", ["python-groups"]),
    (1, 20, "tutorial", "Tip of the week: list comprehensions",
     "## List comprehensions\n\nTurn a loop into one line:\n\n```python\nsquares = [n * n for n in "
     "range(10)]\n```\n\nTry it and share your own example in the group!", ["python-groups"]),
    (2, 12, "share", "Worth reading: how we test our scheduler",
     "A clear write-up on testing time-based code without sleeping.\n\n"
     "Source: https://example.com/testing-time", ["forum"]),
    (3, 19, "announcement", "Vote: what should next month's sessions cover?",
     "Reply with **1** for web scraping, **2** for data analysis, **3** for automation.",
     ["python-groups", "forum"]),
    (4, 20, "guest_session", "Guest session: from script to service",
     "Tonight at 20:00 our guest shares how a one-off script became a small service. "
     "Questions welcome in the thread.", ["python-groups"]),
    (5, 12, "share", "Common operation problems, answered",
     "A summary of this week's most asked questions: installing packages behind a proxy, "
     "virtual environments on Windows, and reading tracebacks.", ["python-groups", "forum"]),
    (6, 9, "greeting", "Happy weekend", "Happy weekend! 🌿 Take a walk, and if you code today, "
     "share a screenshot of what you built.", ["python-groups"]),
    (7, 20, "tutorial", "Case study: automating a weekly report",
     "## From spreadsheet to script\n\n1. Read the CSV\n2. Group by week\n3. Write the summary\n\n"
     "Full code in the forum thread.", ["python-groups", "forum"]),
]


def create_demo(st: PlannerState) -> list[str]:
    with st.sessions() as session, session.begin():
        if session.scalar(select(func.count()).select_from(User)):
            return ["the demo workspace already exists; nothing changed"]
        now = st.clock.now()
        lines = ["demo users (these passwords are shown only now):"]
        people = {}
        for email, role, name in PEOPLE:
            password = users.generate_password()
            people[role] = users.create_user(session, email=email, role=role, password=password,
                                             name=name, now=now)
            lines.append(f"  {role:<9} {email:<24} {password}")
        channels = {}
        for name, tags in CHANNELS:
            channels[name] = channel_service.create_channel(
                session, st.registry, st.secret_box, kind="outbox", name=name, settings={},
                tags=tags, actor="demo", now=now)
        workspace.put(session, "community_name", "Python learners", actor="demo", now=now)
        tz = ZoneInfo(st.config["TIMEZONE"])
        today = now.astimezone(tz).date()
        editor, operator = people["editor"], people["operator"]
        for index, (offset, hour, kind, title, body, tags) in enumerate(WEEK):
            when = datetime.combine(today + timedelta(days=offset), time(hour), tz)
            post = posts.create_post(session, editor, PostInput(
                kind=kind, title=title, body=body, scheduled_at=when, tags=tags), now=now)
            if index % 3 != 2:
                posts.submit(session, editor, post, now=now)
            if index % 3 == 0:
                posts.approve(session, operator, post, now=now, allow_self_approval=False,
                              comment="Looks good.")
        create_greeting_series(session, editor, operator, now=now, config=st.config,
                               checker=checker_for(st, session), tag="python-groups")
        lines.append(f"{len(CHANNELS)} outbox channels and {len(WEEK)} posts for the coming week")
        guest_slots = slots.demo_series(session, operator, [c.id for c in channels.values()
                                                            if "python-groups" in c.tags], now=now)
        lines.append(f"{len(guest_slots)} open guest slots on Thursdays at 20:00, booked at /book")
        lines.append("a good-morning series every weekday at 08:00 (Asia/Shanghai), approved")
        lines.append(create_demo_feeds(session, editor, [channels["Python learners group 1"]], now=now,
                                       config=st.config))
    return lines
