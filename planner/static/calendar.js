/* The calendar page: FullCalendar fed by /api/v1/calendar, drag to reschedule, click a day to write.
 *
 * FullCalendar without a timezone plugin cannot show a named zone, so it runs in 'UTC' on wall-clock
 * times: the API gives each time in the viewer's zone with its offset, the first 19 characters are
 * the wall clock, and a time picked on the calendar goes back with the zone's offset at that moment
 * (worked out with Intl), so daylight-saving changes land where the viewer sees them. */
(function () {
  "use strict";

  var root = document.getElementById("calendar");
  if (!root || !window.FullCalendar) { return; }
  var config = JSON.parse(root.dataset.config);
  var message = document.getElementById("calendar-message");
  var truncated = document.getElementById("calendar-truncated");
  var filtersForm = document.getElementById("calendar-filters");
  var tray = document.getElementById("calendar-tray");
  var csrf = document.querySelector("input[name=csrf_token]").value;
  var parts = new Intl.DateTimeFormat("en-US", {
    timeZone: config.timeZone, hourCycle: "h23", year: "numeric", month: "2-digit",
    day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit"
  });

  function pad(n) { return String(n).padStart(2, "0"); }

  // Minutes the viewer's zone is ahead of UTC at the instant ``ms``.
  function offsetAt(ms) {
    var p = {};
    parts.formatToParts(new Date(ms)).forEach(function (part) { p[part.type] = Number(part.value); });
    var wall = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
    return Math.round((wall - Math.floor(ms / 1000) * 1000) / 60000);
  }

  // A calendar date (its UTC fields are the viewer's wall clock) as ISO 8601 with the zone's offset.
  function withOffset(wall) {
    var ms = wall.getTime();
    var offset = offsetAt(ms - offsetAt(ms) * 60000);
    var sign = offset < 0 ? "-" : "+";
    var abs = Math.abs(offset);
    return wall.toISOString().slice(0, 19) + sign + pad(Math.floor(abs / 60)) + ":" + pad(abs % 60);
  }

  function format(text, values) {
    return text.replace(/%\((\w+)\)s/g, function (_m, key) { return values[key]; });
  }

  function say(text, kind) {
    message.textContent = text;
    message.className = "flash flash-" + kind;
    message.hidden = false;
  }

  function reason(body) {
    var error = (body && body.error) || {};
    var fields = Object.keys(error.fields || {}).map(function (k) { return error.fields[k]; });
    return fields.length ? fields.join("; ") : (error.message || config.text.offline);
  }

  function filterParams() {
    var params = new URLSearchParams();
    new FormData(filtersForm).forEach(function (value, key) {
      if (value && key !== "view") { params.set(key, value); }
    });
    return params;
  }

  function toEvent(item) {
    return {
      id: String(item.id),
      title: item.title,
      start: item.scheduled_at.slice(0, 19),
      url: config.detailUrl.replace("/0", "/" + item.id),
      classNames: ["post-event", "kind-" + item.kind, "post-status-" + item.status],
      startEditable: item.can_move,
      extendedProps: { kind: item.kind, status: item.status, author: item.author.name }
    };
  }

  // A series' occurrence that is not a post yet: shown, linked to its series, not movable.
  function toOccurrence(item) {
    return {
      id: "series-" + item.series_id + "-" + item.scheduled_at,
      title: item.title,
      start: item.scheduled_at.slice(0, 19),
      url: config.seriesUrl.replace("/0", "/" + item.series_id),
      classNames: ["post-event", "series-event", "kind-" + item.kind],
      startEditable: false,
      extendedProps: { kind: item.kind, status: "planned" }
    };
  }

  function eventContent(arg) {
    var badge = document.createElement("span");
    badge.className = "status status-" + arg.event.extendedProps.status;
    badge.textContent = config.statuses[arg.event.extendedProps.status];
    var time = document.createElement("b");
    time.textContent = arg.timeText + " ";
    var title = document.createElement("span");
    title.className = "post-event-title";
    title.textContent = arg.event.title;
    return { domNodes: arg.view.type.indexOf("list") === 0 ? [badge, title] : [time, badge, title] };
  }

  function loadEvents(info, success, failure) {
    var params = filterParams();
    params.set("start", withOffset(info.start));
    params.set("end", withOffset(info.end));
    fetch(config.eventsUrl + "?" + params.toString(), { credentials: "same-origin" })
      .then(function (response) {
        return response.json().then(function (body) {
          if (!response.ok) { throw new Error(reason(body)); }
          // Past the server's cap the range is cut short: say so, or the rest looks empty.
          truncated.textContent = body.truncated ? config.text.truncated : "";
          truncated.hidden = !body.truncated;
          return body.items.map(toEvent).concat(body.occurrences.map(toOccurrence));
        });
      })
      .then(success)
      .catch(function (error) {
        say(format(config.text.notLoaded, { why: error.message }), "danger");
        failure(error);
      });
  }

  // Ask the server to move post ``id``; ``undo`` puts the event back when it says no.
  function move(id, title, start, undo, done) {
    fetch(config.moveUrl.replace("/0/", "/" + id + "/"), {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify({ scheduled_at: withOffset(start) })
    }).then(function (response) {
      return response.json().then(function (body) {
        if (!response.ok) { throw new Error(reason(body)); }
        say(format(config.text.moved, {
          title: title, when: body.scheduled_at.slice(0, 16).replace("T", " ")
        }), "success");
        done(body);
      });
    }).catch(function (error) {
      undo();
      say(format(config.text.notMoved, { title: title, why: error.message }), "danger");
    });
  }

  var calendar = new FullCalendar.Calendar(root, {
    timeZone: "UTC",
    now: config.now,
    initialDate: config.initialDate,
    initialView: "dayGridMonth",
    locale: config.locale,
    firstDay: 1,
    height: "auto",
    headerToolbar: { left: "prev,next today", center: "title", right: "dayGridMonth,timeGridWeek,listMonth" },
    eventDisplay: "block",
    eventTimeFormat: { hour: "2-digit", minute: "2-digit", hour12: false },
    slotLabelFormat: { hour: "2-digit", minute: "2-digit", hour12: false },
    defaultTimedEventDuration: "01:00",
    eventDurationEditable: false,
    droppable: true,
    events: loadEvents,
    eventContent: eventContent,
    dateClick: function (info) {
      var when = info.allDay ? info.dateStr.slice(0, 10) : info.dateStr.slice(0, 16);
      window.location.href = config.newUrl + "?scheduled_at=" + encodeURIComponent(when);
    },
    eventDrop: function (info) {
      move(info.event.id, info.event.title, info.event.start, info.revert, function (item) {
        info.event.setExtendedProp("status", item.status);
      });
    },
    eventReceive: function (info) {
      var item = tray.querySelector('[data-post-id="' + info.event.extendedProps.postId + '"]');
      move(info.event.extendedProps.postId, info.event.title, info.event.start, info.revert,
        function () {
          info.event.remove();
          if (item) { item.remove(); }
          calendar.refetchEvents();
        });
    }
  });
  calendar.render();

  new FullCalendar.Draggable(tray, {
    itemSelector: '.tray-item[data-can-move="true"]',
    eventData: function (el) {
      return {
        title: el.dataset.title, startTime: "09:00", create: true,
        classNames: ["post-event", "kind-" + el.dataset.kind, "post-status-draft"],
        extendedProps: { postId: el.dataset.postId, kind: el.dataset.kind, status: "draft" }
      };
    }
  });

  filtersForm.addEventListener("change", function () { calendar.refetchEvents(); });
  filtersForm.addEventListener("submit", function (event) {
    event.preventDefault();
    calendar.refetchEvents();
  });
}());
