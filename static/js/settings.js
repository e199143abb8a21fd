// Setup > Settings > Users: small improvements; every page works without this file.
(function () {
  "use strict";

  // The user form: while "Administrator" is chosen, groups do not apply; say so.
  var form = document.querySelector("form.user-form");
  if (form) {
    var radios = form.querySelectorAll('input[name="role"]');
    var update = function () {
      var chosen = form.querySelector('input[name="role"]:checked');
      form.classList.toggle("is-administrator", !!chosen && chosen.value === "administrator");
    };
    radios.forEach(function (radio) { radio.addEventListener("change", update); });
    update();
  }

  // The group picker: a filter box over a long list of groups (hidden without this file,
  // where the list scrolls). Filtering only hides rows: ticked groups stay ticked.
  document.querySelectorAll("[data-group-filter]").forEach(function (box) {
    var input = box.querySelector("input");
    var count = box.querySelector("[data-group-filter-count]");
    var list = document.getElementById(input.getAttribute("aria-controls"));
    var options = list.querySelectorAll(".group-option");
    var filter = function () {
      var term = input.value.trim().toLowerCase();
      var shown = 0;
      options.forEach(function (option) {
        var match = option.getAttribute("data-filter-text").indexOf(term) !== -1;
        option.hidden = !match;
        shown += match ? 1 : 0;
      });
      count.textContent = term ? shown + " of " + options.length + " groups" : "";
    };
    input.addEventListener("input", filter);
    // Enter in the filter box filters; it must not save the form.
    input.addEventListener("keydown", function (event) {
      if (event.key === "Enter") { event.preventDefault(); }
    });
    box.hidden = false;
  });
})();
