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
})();
