// Keyboard triage in the inbox: j/k move between items, s/f/d press the item's Share, Star and
// Dismiss buttons, x ticks it for bulk dismiss, o opens the article. The buttons work without this.
(function () {
  "use strict";
  var items = Array.prototype.slice.call(document.querySelectorAll(".inbox-item"));
  if (!items.length) { return; }
  function current() {
    var index = items.indexOf(document.activeElement && document.activeElement.closest(".inbox-item"));
    return index;
  }
  function focus(index) {
    var item = items[Math.max(0, Math.min(items.length - 1, index))];
    item.focus();
    item.scrollIntoView({block: "nearest"});
  }
  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (event.altKey || event.ctrlKey || event.metaKey) { return; }
    if (target.matches("input[type=text], input[type=search], select, textarea")) { return; }
    var index = current();
    if (event.key === "j") { focus(index + 1); event.preventDefault(); return; }
    if (event.key === "k") { focus(index < 0 ? 0 : index - 1); event.preventDefault(); return; }
    if (index < 0) { return; }
    var item = items[index];
    if (event.key === "x") {
      var box = item.querySelector("input[type=checkbox]");
      if (box) { box.checked = !box.checked; }
      event.preventDefault();
      return;
    }
    if (event.key === "o") {
      var link = item.querySelector("a[data-open]");
      if (link) { link.click(); }
      return;
    }
    var button = item.querySelector("button[data-key='" + event.key + "']");
    if (button) { button.click(); event.preventDefault(); }
  });
})();
