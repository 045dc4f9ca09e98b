// Progressive enhancement only: the account switcher navigates on change.
// Without JavaScript it is a form with a Switch button.
document.querySelectorAll("select[data-switcher]").forEach(function (s) {
  s.addEventListener("change", function () { window.location = "/accounts/" + encodeURIComponent(s.value); });
});
