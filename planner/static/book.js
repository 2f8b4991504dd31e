// The booking pages show times in the visitor's timezone: detect it once, and let a choice apply at once.
(function () {
  "use strict";
  var select = document.getElementById("tz");
  if (!select) {
    return;
  }
  var params = new URLSearchParams(window.location.search);
  var detected = Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (!params.has("tz") && detected && detected !== select.value &&
      Array.prototype.some.call(select.options, function (option) { return option.value === detected; })) {
    params.set("tz", detected);
    window.location.replace(window.location.pathname + "?" + params.toString());
    return;
  }
  select.addEventListener("change", function () {
    select.form.submit();
  });
})();
