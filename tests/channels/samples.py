"""Sample posts shared by the channel rendering tests."""

from planner.channel_api import PostContent

# A tutorial with everything a renderer must handle: Chinese, emoji, a link, code, a nested
# list, a table, a quote and an image.
TUTORIAL = PostContent(kind="tutorial", title="本周技巧：f-strings", body=(
    "## 为什么用 f-strings\n\n"
    "它们**更快**，也更*易读*。详见[官方文档](https://docs.python.org/3/tutorial/inputoutput.html)。\n\n"
    "```python\nname = '世界'\nprint(f'你好, {name}')\n```\n\n"
    "- 简单 🙂\n- 快速\n    - 比 `%` 快\n\n"
    "| 写法 | 速度 |\n|---|---|\n| f-string | 快 |\n| format() | 慢 |\n\n"
    "> 记得升级到 Python 3.12\n\n"
    "![示意图](https://example.com/f.png)"))
