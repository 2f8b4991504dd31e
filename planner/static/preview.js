// The post editor's live preview: each target channel as its own renderer shows the post, with a
// length meter and the pre-publish checks. Everything from the server is shown as text.
(function () {
  "use strict";

  const panel = document.getElementById("live-preview");
  const form = panel && document.getElementById(panel.dataset.form);
  if (!panel || !form) {
    return;
  }
  const words = JSON.parse(panel.dataset.words);
  const output = panel.querySelector(".preview-output");
  const TAG = /^[a-z0-9][a-z0-9_-]{0,49}$/;
  let timer = null;
  let latest = 0;

  function field(name) {
    const element = form.elements.namedItem(name);
    return element ? element.value : "";
  }

  // The offset of a named timezone at an instant, in milliseconds.
  function offsetAt(instant, timeZone) {
    const parts = {};
    new Intl.DateTimeFormat("en-US", {
      timeZone: timeZone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", second: "2-digit",
    }).formatToParts(new Date(instant)).forEach(function (part) { parts[part.type] = part.value; });
    return Date.UTC(+parts.year, +parts.month - 1, +parts.day, +parts.hour, +parts.minute,
                    +parts.second) - instant;
  }

  // "2026-11-23T08:00" in the workspace timezone, as an ISO instant the API accepts.
  function localToIso(value, timeZone) {
    const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(value);
    if (!match) {
      return null;
    }
    const wall = Date.UTC(+match[1], +match[2] - 1, +match[3], +match[4], +match[5]);
    let instant = wall;
    for (let i = 0; i < 2; i += 1) {
      instant = wall - offsetAt(instant, timeZone);
    }
    return new Date(instant).toISOString();
  }

  function input() {
    const checked = form.querySelectorAll('input[name="channel_ids"]:checked');
    const tags = field("tags").split(",").map(function (t) { return t.trim().toLowerCase(); })
      .filter(function (t) { return TAG.test(t); });
    const body = {
      kind: field("kind"), title: field("title"), body: field("body"),
      scheduled_at: localToIso(field("scheduled_at"), panel.dataset.timezone),
      channel_ids: Array.from(checked, function (box) { return Number(box.value); }),
      tags: tags,
    };
    if (panel.dataset.postId) {
      body.post_id = Number(panel.dataset.postId);
    }
    return body;
  }

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (text !== undefined && text !== null) {
      node.textContent = text;
    }
    return node;
  }

  function findingList(findings) {
    const list = element("ul", "findings");
    findings.forEach(function (finding) {
      const item = element("li", "finding finding-" + finding.severity);
      item.appendChild(element("strong", null,
        (finding.severity === "error" ? words.blocks : words.note) + ": "));
      item.appendChild(document.createTextNode(finding.message));
      list.appendChild(item);
    });
    return list;
  }

  function meter(target) {
    const box = element("div", "length");
    if (target.unit === null) {
      return box;  // the channel's kind is not installed: its finding says so
    }
    const unit = words.units[target.unit] || target.unit;
    if (target.limit === null) {
      box.appendChild(element("span", "meta",
        (target.length === null ? 0 : target.length) + " " + unit + ", " + words.no_limit));
      return box;
    }
    const gauge = element("meter");
    gauge.min = 0;
    gauge.max = target.limit;
    gauge.low = Math.floor(target.limit * 0.8);
    gauge.high = Math.floor(target.limit * 0.95);
    gauge.optimum = 0;
    gauge.value = target.length === null ? target.limit : Math.min(target.length, target.limit);
    box.appendChild(gauge);
    let text = target.length === null ? words.over.replace("{limit}", target.limit)
      : words.used.replace("{used}", target.length).replace("{limit}", target.limit);
    text = text.replace("{unit}", unit);
    if (target.parts > 1) {
      text += " · " + words.parts.replace("{parts}", target.parts);
    }
    box.appendChild(element("span", "meta meter-text", text));
    return box;
  }

  function show(result) {
    output.replaceChildren();
    const general = result.findings.filter(function (f) { return f.channel_id === null; });
    if (general.length) {
      output.appendChild(findingList(general));
    }
    if (!result.targets.length) {
      output.appendChild(element("p", "hint", words.no_targets));
    }
    result.targets.forEach(function (target) {
      const card = element("section", "preview-card");
      card.dataset.channelId = target.channel_id;
      card.setAttribute("aria-label", words.preview_on.replace("{channel}", target.channel_name));
      const heading = element("h3", null, target.channel_name + " ");
      heading.appendChild(element("span", "meta", target.kind_label));
      card.appendChild(heading);
      card.appendChild(meter(target));
      target.messages.forEach(function (message, index) {
        if (target.shows_title && message.title && index === 0) {
          card.appendChild(element("p", "preview-title", message.title));
        }
        card.appendChild(element("pre", "preview-text", message.text));
      });
      if (target.findings.length) {
        card.appendChild(findingList(target.findings));
      }
      output.appendChild(card);
    });
    if (!result.findings.length && result.targets.length) {
      output.appendChild(element("p", "check-ok", words.all_clear));
    }
  }

  function refresh() {
    const asked = ++latest;
    panel.setAttribute("aria-busy", "true");
    fetch(panel.dataset.url, {
      method: "POST",
      credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": panel.dataset.csrf},
      body: JSON.stringify(input()),
    }).then(function (response) {
      return response.json().then(function (data) { return {ok: response.ok, data: data}; });
    }).then(function (answer) {
      if (asked !== latest) {
        return;  // a newer request is on its way
      }
      panel.removeAttribute("aria-busy");
      if (answer.ok) {
        show(answer.data);
      } else {
        output.replaceChildren(element("p", "field-error", answer.data.error.message));
      }
    }).catch(function () {
      if (asked === latest) {
        panel.removeAttribute("aria-busy");
        output.replaceChildren(element("p", "field-error", words.failed));
      }
    });
  }

  function later() {
    window.clearTimeout(timer);
    timer = window.setTimeout(refresh, 350);
  }

  form.addEventListener("input", later);
  form.addEventListener("change", later);
  refresh();
}());
